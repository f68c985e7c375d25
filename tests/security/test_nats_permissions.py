"""NATS with the generated users and permissions (services/ops/nats_config.py), on a server of
this module's own: a service publishes only its own subjects, subscribes only to what it consumes,
cannot touch streams or other services' consumers; the gateway only reads; and the services run
end to end with nothing but their own credentials."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import nats
import nats.errors
import pytest
from erp.employee.v1 import employee_service_pb2_grpc as emp_grpc
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from services.ops import nats_config
from services.ops.embedded import EmbeddedNats, free_port
from services.runtime.events import stream_name
from services.runtime.jetstream import connect, ensure_streams
from services.runtime.settings import NATS_PRINCIPALS, Settings
from tests.employee.helpers import employee_request
from tests.runtime.helpers import eventually
from tests.security.secure_env import SecureSystem, migrate, secure_settings


@dataclass
class SecuredNats:
    url: str
    data_dir: Path
    root: str
    passwords: dict[str, str]
    settings: Settings
    clients: list[Client] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)

    async def connect_as(self, principal: str) -> Client:
        """A connection with `principal`'s credentials; permission errors land in `errors[principal]`."""
        nc = await connect(self.url, f"test-{principal}", credentials=(principal, self.passwords[principal]))
        seen = self.errors.setdefault(principal, [])

        async def on_error(exc: Exception) -> None:
            seen.append(str(exc).lower())

        nc._error_cb = on_error  # the runtime's connect() takes no callback: attach the test's
        self.clients.append(nc)
        return nc

    async def violations(self, principal: str, needle: str) -> list[str]:
        await asyncio.sleep(0.2)  # the server answers a refused publish/subscribe asynchronously
        return [e for e in self.errors.get(principal, []) if "permissions violation" in e and needle.lower() in e]


@pytest.fixture(scope="module")
def server(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedNats, Settings]]:
    own = secure_settings(settings)
    tmp: Path = tmp_path_factory.mktemp("secured-nats")
    passwords = nats_config.generate_passwords()
    config = nats_config.write_config(tmp / "nats-server.conf", own.subject_root, passwords)
    assert config.stat().st_mode & 0o777 == 0o600
    nats_server = EmbeddedNats(tmp / "data", free_port(), config=config)
    url = nats_server.start()
    yield nats_server, replace(own, nats_url=url, nats_passwords=passwords)
    nats_server.stop()


@pytest.fixture(scope="module")
async def secured(server: tuple[EmbeddedNats, Settings]) -> AsyncIterator[SecuredNats]:
    nats_server, own = server
    s = SecuredNats(nats_server.url, nats_server.data_dir, own.subject_root, dict(own.nats_passwords), own)
    admin = await s.connect_as("admin")
    await ensure_streams(admin.jetstream(), s.root)
    yield s
    for nc in s.clients:
        await nc.close()


async def test_a_service_publishes_only_on_its_own_subjects(secured: SecuredNats) -> None:
    root = secured.root
    employee = await secured.connect_as("employee")
    js = employee.jetstream()
    ack = await js.publish(f"{root}.employee.EmployeeCreated", b"ok")
    assert ack.stream == stream_name(root, "employee")
    assert (await js.publish(f"{root}.dlq.employee", b"dead letter")).stream.endswith("_DLQ")
    # Another service's subject: the server drops it (no JetStream ack) and reports a violation.
    with pytest.raises(nats.errors.TimeoutError):
        await js.publish(f"{root}.payroll.PayrollProcessed", b"forged", timeout=1)
    await employee.publish(f"{root}.payroll.PayrollPaid", b"forged")
    await employee.publish(f"{root}.dlq.payroll", b"forged")
    await employee.flush()
    assert await secured.violations("employee", f'publish to "{root}.payroll.payrollprocessed"')
    assert await secured.violations("employee", f'publish to "{root}.payroll.payrollpaid"')
    assert await secured.violations("employee", f'publish to "{root}.dlq.payroll"')
    admin_js = (await secured.connect_as("admin")).jetstream()
    info = await admin_js.stream_info(stream_name(root, "payroll"))
    assert info.state.messages == 0, "a forged event reached payroll's stream"
    assert employee.is_connected  # a refused publish does not cost the connection


async def test_a_service_subscribes_only_to_what_it_consumes(secured: SecuredNats) -> None:
    root = secured.root
    employee = await secured.connect_as("employee")  # consumes nothing
    payroll = await secured.connect_as("payroll")  # consumes employee and accounting events
    await employee.subscribe(f"{root}.payroll.>")
    await payroll.subscribe(f"{root}.billing.>")
    await payroll.subscribe("_INBOX_employee.>")  # another service's replies and pulled messages
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_message(msg: Msg) -> None:
        await received.put(msg.data)

    await payroll.subscribe(f"{root}.employee.>", cb=on_message)
    await payroll.flush()
    # Core NATS is fire-and-forget: repeat the probe until the subscription has seen one (bounded).
    for _ in range(150):
        await employee.publish(f"{root}.employee.Probe", b"hello payroll")
        await employee.flush()
        try:
            assert await asyncio.wait_for(received.get(), 0.2) == b"hello payroll"
            break
        except TimeoutError:
            continue
    else:
        raise AssertionError("payroll never received the employee event it is allowed to consume")
    assert await secured.violations("employee", f'subscription to "{root}.payroll.>"')
    assert await secured.violations("payroll", f'subscription to "{root}.billing.>"')
    assert await secured.violations("payroll", 'subscription to "_inbox_employee.>"')
    assert not await secured.violations("payroll", f'subscription to "{root}.employee.>"')


async def test_streams_and_other_services_consumers_are_out_of_reach(secured: SecuredNats) -> None:
    root = secured.root
    payroll = await secured.connect_as("payroll")
    js = payroll.jetstream()
    for api in (f"STREAM.DELETE.{stream_name(root, 'employee')}", f"STREAM.PURGE.{stream_name(root, 'accounting')}"):
        with pytest.raises(nats.errors.TimeoutError):  # what js.delete_stream / purge_stream send
            await payroll.request(f"$JS.API.{api}", b"", timeout=1)
    with pytest.raises(nats.errors.TimeoutError):  # a durable consumer named after another service
        await js.add_consumer(stream_name(root, "employee"), durable_name="finance", timeout=1)
    with pytest.raises(nats.errors.TimeoutError):  # a stream payroll does not consume
        await js.add_consumer(stream_name(root, "billing"), durable_name="payroll", timeout=1)
    assert await secured.violations("payroll", "$js.api.stream.delete")
    assert await secured.violations("payroll", "$js.api.consumer")
    # Its own durable consumer on a stream it consumes is fine.
    info = await js.add_consumer(stream_name(root, "employee"), durable_name="payroll", timeout=5)
    assert info.name == "payroll"


async def test_the_gateway_only_reads_events(secured: SecuredNats) -> None:
    root = secured.root
    gateway = await secured.connect_as("gateway")
    employee = await secured.connect_as("employee")
    received: asyncio.Queue[bytes] = asyncio.Queue()

    async def on_message(msg: Msg) -> None:
        await received.put(msg.data)

    # What the GraphQL subscriptions do: an ordered, ephemeral JetStream consumer.
    sub = await gateway.jetstream().subscribe(
        f"{root}.employee.EmployeeUpdated",
        cb=on_message,
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.NEW,
    )
    await employee.jetstream().publish(f"{root}.employee.EmployeeUpdated", b"news")
    assert await asyncio.wait_for(received.get(), 5) == b"news"
    await sub.unsubscribe()
    await gateway.publish(f"{root}.employee.EmployeeUpdated", b"forged")
    with pytest.raises(nats.errors.TimeoutError):  # not even a consumer named after a service
        await gateway.jetstream().add_consumer(stream_name(root, "employee"), durable_name="payroll", timeout=1)
    assert await secured.violations("gateway", f'publish to "{root}.employee.employeeupdated"')


async def test_wrong_or_missing_credentials_are_refused(secured: SecuredNats) -> None:
    for options in (
        {"user": "employee", "password": "guess"},
        {"user": "payroll", "password": secured.passwords["employee"]},
        {},
    ):
        with pytest.raises((nats.errors.NoServersError, nats.errors.AuthorizationError, nats.errors.Error)):
            await nats.connect(secured.url, allow_reconnect=False, connect_timeout=2, **options)


async def test_services_run_with_their_own_credentials(secured: SecuredNats) -> None:
    """employee's relay publishes, payroll's consumer creates its consumers, pulls, acks and reads
    its lag: with nothing but each service's own NATS user."""
    own = secured.settings
    await migrate(own, ["employee", "payroll"])
    system = SecureSystem(own)
    await system.start(["employee", "payroll"])
    try:
        user = uuid.uuid4()
        stub = emp_grpc.EmployeeServiceStub(system.channels["employee"])
        created = (await stub.CreateEmployee(employee_request(), metadata=system.as_user(user))).employee

        async def cached() -> bool:
            rows = await system.sql(
                "payroll", "SELECT 1 FROM employee_cache WHERE employee_id = $1", uuid.UUID(created.id)
            )
            return bool(rows)

        await eventually(cached, timeout_s=15)
        consumer = system.services["payroll"].consumer
        assert consumer is not None
        await consumer.report_lag([stream_name(own.subject_root, s) for s in ("accounting", "employee")])
        assert system.services["employee"].nats.is_connected and system.services["payroll"].nats.is_connected
        # The server refused nothing the services themselves did (the test's own clients are `test-*`).
        log = (Path(secured.data_dir) / "nats.log").read_text()
        refused = [line for line in log.splitlines() if "violation" in line.lower()]
        assert refused, "the earlier tests' refusals should be logged"
        assert not [line for line in refused if ":erp-" in line], refused
    finally:
        await system.stop()


def test_erp_nats_config_writes_the_configuration_and_the_passwords(tmp_path: Path) -> None:
    from services.ops import cli

    out = tmp_path / "nats" / "server.conf"
    ns = cli.build_parser().parse_args(["nats-config", "--out", str(out)])
    assert ns.func(ns) == 0
    env_file = out.with_name("server.env")
    assert out.stat().st_mode & 0o777 == 0o600 and env_file.stat().st_mode & 0o777 == 0o600
    lines = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert set(lines) == {f"ERP_{p.upper()}_NATS_PASSWORD" for p in NATS_PRINCIPALS}
    text = out.read_text()
    for password in lines.values():
        assert f'"password": "{password}"' in text
