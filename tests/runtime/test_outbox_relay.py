"""The outbox delivers every event exactly once, also when NATS stops and restarts mid-burst."""

from __future__ import annotations

import asyncio
import uuid

import nats
from erp.employee.v1 import events_pb2 as ev
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import func, select

from services.ops.embedded import EmbeddedNats, free_port
from services.runtime.events import H_ID, stream_name
from services.runtime.jetstream import connect, ensure_streams
from services.runtime.relay import OutboxRelay
from services.runtime.settings import Settings, to_libpq_url
from services.runtime.tables import OUTBOX
from tests.infra import Infra
from tests.runtime.helpers import eventually, scratch_database

BURST = 1000


async def test_burst_survives_nats_restart(infra: Infra, settings: Settings) -> None:
    # A NATS of this test's own, so it can be stopped and started whatever ERP_NATS_URL says.
    port = free_port()
    server = EmbeddedNats(infra.tmp / "nats-restart", port)
    server.start()
    db = await scratch_database(settings, "outbox_restart")
    root = settings.subject_root  # the subjects the unit of work writes
    nc = await connect(server.url, "relay-under-test")
    js = nc.jetstream()
    await ensure_streams(js, root)
    relay = OutboxRelay(db, js, to_libpq_url(str(db.engine.url.render_as_string(hide_password=False))))
    relay.publish_timeout_s = 0.5
    stop = asyncio.Event()
    relay_task = asyncio.create_task(relay.run(stop))
    written: list[uuid.UUID] = []
    backlog_during_outage = 0

    async def backlog() -> int:
        async with db.read() as s:
            return int((await s.execute(select(func.count()).where(OUTBOX.c.published_at.is_(None)))).scalar_one())

    async def write(i: int) -> None:
        async with db.unit_of_work() as uow:
            aggregate = uuid.uuid4()
            written.append(
                uow.record(
                    ev.DepartmentCreated(department_id=str(aggregate), name=f"D{i}", code=f"C{i}"),
                    aggregate_type="Department",
                    aggregate_id=aggregate,
                )
            )

    try:
        for start in range(0, BURST, 20):
            await asyncio.gather(*(write(i) for i in range(start, start + 20)))
            if start == 300:
                server.stop()  # NATS goes away in the middle of the burst
            if start == 580:
                backlog_during_outage = await backlog()
            if start == 600:
                server.start()  # ... and comes back with its JetStream store
        assert len(written) == BURST
        assert backlog_during_outage > 0, "the outage happened after everything was published"

        async def drained() -> bool:
            return await backlog() == 0

        await eventually(drained, timeout_s=60)
    finally:
        stop.set()
        await asyncio.wait_for(relay_task, 10)
        await nc.close()

    # Read the stream back with a fresh consumer: every event once, nothing twice.
    reader = await nats.connect(server.url)
    rjs = reader.jetstream()
    stream = stream_name(root, "employee")
    info = await rjs.stream_info(stream)
    assert info.state.messages == BURST
    sub = await rjs.pull_subscribe(
        f"{root}.employee.>",
        durable="counter",
        stream=stream,
        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL),
    )
    seen: list[str] = []
    while len(seen) < BURST:
        for msg in await sub.fetch(200, timeout=5):
            seen.append(msg.headers[H_ID])
            await msg.ack()
    assert len(seen) == len(set(seen)) == BURST
    assert set(seen) == {str(i) for i in written}
    await reader.close()
    server.stop()
    await db.dispose()
