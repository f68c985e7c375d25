"""Subscriptions over a real WebSocket (graphql-transport-ws), fed by the services' JetStream events.

The gateway runs under uvicorn on a free port; clients speak the protocol with the `websockets`
package. Employee events come from the session's employee service (the session's subject root).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from erp.accounting.v1 import accounting_service_pb2_grpc as acc_grpc
from erp.billing.v1 import billing_service_pb2_grpc as bill_grpc
from erp.employee.v1 import employee_service_pb2_grpc as api_grpc
from erp.inventory.v1 import events_pb2 as inventory_events
from erp.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from erp.procurement.v1 import procurement_service_pb2 as proc_api
from erp.procurement.v1 import procurement_service_pb2_grpc as proc_grpc
from nats.aio.client import Client
from starlette.applications import Starlette
from websockets.exceptions import ConnectionClosed

from gateway.app import create_app
from gateway.config import GatewayConfig
from gateway.documents import sha256
from gateway.subscriptions.hub import SLOW_CLOSE_CODE
from services.runtime.context import CallContext
from services.runtime.events import build_headers, dlq_stream_name, event_subject, stream_name
from services.runtime.jetstream import ensure_streams
from services.runtime.service import RunningService
from services.runtime.settings import SERVICES, Settings
from tests.gateway.live import WsClient, hub_of, serving, wait_for
from tests.gateway.support import new_department, tag
from tests.gateway.test_accounting import POST as POST_ENTRY
from tests.gateway.test_accounting import entry
from tests.gateway.test_billing import CREATE_INVOICE, ISSUE, customers, invoice_input
from tests.gateway.test_inventory import ADJUST
from tests.gateway.test_procurement import stocked_item

EMPLOYEE_EVENTS = ("EmployeeCreated", "EmployeeUpdated", "EmployeeTerminated", "EmployeeRehired")
EMPLOYEE_SUBJECTS = [f"employee.{e}" for e in EMPLOYEE_EVENTS]

EMPLOYEE_CHANGED = """subscription($d: ID) { employeeChanged(departmentId: $d) {
  change employeeId departmentId changedFields
  employee { lastName jobTitle department { name } payrollRecords { totalCount } } } }"""

CREATE = "mutation($i: CreateEmployeeInput!) { createEmployee(input: $i) { id version } }"
UPDATE = "mutation($i: UpdateEmployeeInput!) { updateEmployee(input: $i) { id version } }"


def hire(department_id: str, last_name: str) -> dict[str, Any]:
    return {
        "firstName": "Sub",
        "lastName": last_name,
        "email": f"sub-{tag()}@example.com",
        "jobTitle": "Engineer",
        "salary": "50000.00",
        "hireDate": "2021-03-01",
        "departmentId": department_id,
    }


@contextlib.asynccontextmanager
async def live(
    settings: Settings, config: GatewayConfig | None = None, send_buffer: int | None = None
) -> AsyncIterator[tuple[Starlette, str]]:
    app = create_app(settings, config or GatewayConfig())
    async with serving(app, send_buffer=send_buffer) as base_url:
        yield app, base_url


async def post(base_url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.post("/graphql", json={"query": query, "variables": variables})
    body: dict[str, Any] = response.json()
    assert not body.get("errors"), body
    data: dict[str, Any] = body["data"]
    return data


async def test_a_subscriber_receives_the_events_of_mutations_with_cross_service_fields(
    employee_root_settings: Settings,
    stub: api_grpc.EmployeeServiceStub,
    payroll_service: RunningService,
) -> None:
    department = await new_department(stub, f"Live {tag()}")
    other = await new_department(stub, f"Other {tag()}")
    async with live(employee_root_settings) as (app, base_url), WsClient.open(base_url) as ws:
        hub = hub_of(app)
        await ws.subscribe(EMPLOYEE_CHANGED, {"d": department.id})
        subjects = [hub.subject(s) for s in EMPLOYEE_SUBJECTS]
        await wait_for(lambda: all(hub.subscriber_count(s) == 1 for s in subjects), what="the subscription")

        await post(base_url, CREATE, {"i": hire(other.id, "Elsewhere")})  # another department: filtered out
        hired = (await post(base_url, CREATE, {"i": hire(department.id, "Watched")}))["createEmployee"]
        created = (await ws.next())["data"]["employeeChanged"]
        await post(base_url, UPDATE, {"i": {"id": hired["id"], "version": hired["version"], "jobTitle": "Lead"}})
        updated = (await ws.next())["data"]["employeeChanged"]

    assert created == {
        "change": "CREATED",
        "employeeId": hired["id"],
        "departmentId": department.id,
        "changedFields": [],
        "employee": {
            "lastName": "Watched",
            "jobTitle": "Engineer",  # resolved when the event arrived: the update had not happened yet
            "department": {"name": department.name},
            "payrollRecords": {"totalCount": 0},  # the payroll service's, through the same loaders
        },
    }
    assert updated["change"] == "UPDATED"
    assert updated["changedFields"] == ["job_title"]
    # The update names no department: the hub looked the employee's up once to filter it.
    assert updated["departmentId"] == department.id
    assert updated["employee"]["jobTitle"] == "Lead"


async def test_200_subscribers_share_one_nats_subscription_per_subject(
    employee_root_settings: Settings, stub: api_grpc.EmployeeServiceStub
) -> None:
    department = await new_department(stub, f"Crowd {tag()}")
    query = "subscription($d: ID) { employeeChanged(departmentId: $d) { change employeeId employee { lastName } } }"
    async with live(employee_root_settings) as (app, base_url), contextlib.AsyncExitStack() as stack:
        hub = hub_of(app)
        gate = asyncio.Semaphore(50)

        async def join() -> WsClient:
            async with gate:
                client = await stack.enter_async_context(WsClient.open(base_url))
                await client.subscribe(query, {"d": department.id})
                return client

        clients = await asyncio.gather(*(join() for _ in range(200)))
        subjects = [hub.subject(s) for s in EMPLOYEE_SUBJECTS]
        await wait_for(lambda: all(hub.subscriber_count(s) == 200 for s in subjects), what="200 subscribers")

        assert hub.nats_subscriptions() == dict.fromkeys(subjects, 1)
        assert {s: hub.opened[s] for s in subjects} == dict.fromkeys(subjects, 1)
        hired = (await post(base_url, CREATE, {"i": hire(department.id, "Famous")}))["createEmployee"]
        received = await asyncio.gather(*(c.next() for c in clients))
        expected = {"change": "CREATED", "employeeId": hired["id"], "employee": {"lastName": "Famous"}}
        assert all(r["data"]["employeeChanged"] == expected for r in received)
        assert sum(hub.received[s] for s in subjects) >= 1
        await stack.aclose()
        # The last subscriber gone, the NATS subscriptions are closed too.
        await wait_for(lambda: not hub.nats_subscriptions(), what="the feeds to close")
        assert {s: hub.closed[s] for s in subjects} == dict.fromkeys(subjects, 1)


@pytest.fixture
async def isolated_root(gateway_settings: Settings, nats_client: Client) -> AsyncIterator[Settings]:
    """Settings on a subject root of their own (streams created, deleted after): events published
    there by the test reach no service."""
    root = f"iso{secrets.token_hex(3)}"
    js = nats_client.jetstream()
    await ensure_streams(js, root)
    yield replace(gateway_settings, subject_root=root)
    for name in [*(stream_name(root, s) for s in SERVICES), dlq_stream_name(root)]:
        with contextlib.suppress(Exception):
            await js.delete_stream(name)


async def publish_stock_levels(
    nats_client: Client, root: str, count: int, sku_size: int = 2000, pause_s: float = 0.004
) -> None:
    """`count` StockLevelChanged events with big (incompressible) SKUs, straight to JetStream, at a
    pace a client that reads keeps up with."""
    js = nats_client.jetstream()
    item = str(uuid.uuid4())
    for i in range(count):
        message = inventory_events.StockLevelChanged(
            sku=secrets.token_hex(sku_size // 2), item_id=item, quantity_on_hand=i, quantity_available=i, version=i + 1
        )
        event_type = message.DESCRIPTOR.full_name
        headers = build_headers(
            event_id=uuid.uuid4(),
            event_type=event_type,
            aggregate_id=item,
            ctx=CallContext(),
            occurred_at=datetime.now(UTC),
        )
        await js.publish(event_subject(root, event_type), message.SerializeToString(), headers=headers)
        await asyncio.sleep(pause_s)


async def test_a_slow_subscriber_is_closed_with_a_reason_while_the_others_keep_receiving(
    isolated_root: Settings, nats_client: Client
) -> None:
    events = 400
    query = "subscription { stockLevelChanged { sku quantityOnHand version } }"
    config = GatewayConfig(subscription_queue=64)
    async with (
        live(isolated_root, config, send_buffer=16384) as (app, base_url),
        WsClient.open(base_url) as fast,
        WsClient.open(base_url, small_buffers=True) as slow,
    ):
        hub = hub_of(app)
        subject = hub.subject("inventory.StockLevelChanged")
        await fast.subscribe(query)
        await slow.subscribe(query)
        await wait_for(lambda: hub.subscriber_count(subject) == 2, what="both subscribers")

        publishing = asyncio.create_task(publish_stock_levels(nats_client, isolated_root.subject_root, events))
        versions = [(await fast.next())["data"]["stockLevelChanged"]["version"] for _ in range(events)]
        await publishing

        assert versions == list(range(1, events + 1))  # every event, in order, while the other stalled
        assert hub.subscriber_count(subject) == 1  # the slow one was dropped from the feed
        with pytest.raises(ConnectionClosed) as closed:
            while True:  # the slow client reads at last: what was buffered, then the close
                await slow.receive(wait_s=60)  # generous: a loaded 2-core CI machine is slow
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == SLOW_CLOSE_CODE
        assert "slow consumer" in closed.value.rcvd.reason


async def test_without_nats_a_subscription_gets_a_clear_error(gateway_settings: Settings) -> None:
    async with (
        live(replace(gateway_settings, nats_url=None)) as (_app, base_url),
        WsClient.open(base_url) as ws,
    ):
        await ws.subscribe("subscription { stockLevelChanged { sku } }")
        payload = await ws.next()

    assert payload["errors"][0]["extensions"]["code"] == "SUBSCRIPTIONS_UNAVAILABLE"


LEDGER = """subscription($code: String) { journalEntryPosted(accountCode: $code) {
  journalNumber sourceService accountCodes totalAmount
  journalEntry { department lines { accountCode account { accountName } } } } }"""
INVOICES = """subscription($c: ID) { invoiceStatusChanged(customerId: $c) {
  oldStatus newStatus amountDue invoice { invoiceNumber status } customer { name } } }"""
STOCK = """subscription($s: String) { stockLevelChanged(sku: $s) {
  sku quantityOnHand quantityAvailable item { sku preferredVendor { name } } } }"""


async def test_ledger_invoice_and_stock_subscriptions_on_one_connection(
    gateway_settings: Settings,
    accounting: acc_grpc.AccountingServiceStub,
    billing: bill_grpc.BillingServiceStub,
    procurement: proc_grpc.ProcurementServiceStub,
    inventory: inv_grpc.InventoryServiceStub,
) -> None:
    department = f"Sub {tag()}"
    [customer] = await customers(billing, f"Sub {tag()}", 1, 0)
    vendor = (
        await procurement.CreateVendor(proc_api.CreateVendorRequest(name=f"Vendor {tag()}", email=f"v-{tag()}@x.com"))
    ).vendor
    item = await stocked_item(inventory, vendor.id, on_hand=10)
    async with live(gateway_settings) as (app, base_url), WsClient.open(base_url) as ws:
        hub = hub_of(app)
        await ws.subscribe(LEDGER, {"code": "1010"}, id="ledger")
        await ws.subscribe(INVOICES, {"c": customer.id}, id="invoices")
        await ws.subscribe(STOCK, {"s": item.sku}, id="stock")
        names = ["accounting.JournalEntryPosted", "billing.InvoiceStatusChanged", "inventory.StockLevelChanged"]
        await wait_for(lambda: all(hub.subscriber_count(hub.subject(n)) == 1 for n in names), what="3 subscriptions")

        received: dict[str, list[dict[str, Any]]] = {"ledger": [], "invoices": [], "stock": []}

        async def until(id: str) -> dict[str, Any]:
            while not received[id]:
                message = await ws.receive()
                assert message["type"] == "next", message
                received[message["id"]].append(message["payload"]["data"])
            return received[id].pop(0)

        await post(base_url, POST_ENTRY, {"i": entry(department)})
        posted = (await until("ledger"))["journalEntryPosted"]
        while posted["journalEntry"]["department"] != department:  # another test's late posting on 1010
            posted = (await until("ledger"))["journalEntryPosted"]

        invoice = (await post(base_url, CREATE_INVOICE, {"i": invoice_input(customer.id)}))["createInvoice"]
        await post(base_url, ISSUE, {"i": {"id": invoice["id"], "version": invoice["version"]}})
        status = (await until("invoices"))["invoiceStatusChanged"]

        adjust = {"itemId": item.id, "version": item.version, "movementType": "DAMAGE", "quantity": -2, "reason": "x"}
        await post(base_url, ADJUST, {"i": adjust})
        stock = (await until("stock"))["stockLevelChanged"]

    assert posted["sourceService"] == "manual"
    assert posted["accountCodes"] == ["1010", "4100"]
    assert posted["totalAmount"] == "100.00"
    names = [line["account"]["accountName"] for line in posted["journalEntry"]["lines"]]
    assert names == ["Cash/Bank", "Sales Revenue"]
    assert status == {
        "oldStatus": "PENDING",
        "newStatus": "SENT",
        "amountDue": "88.00",
        "invoice": {"invoiceNumber": invoice["invoiceNumber"], "status": "SENT"},
        "customer": {"name": customer.name},
    }
    # The item's preferred vendor comes from the procurement service: a cross-service field.
    assert stock == {
        "sku": item.sku,
        "quantityOnHand": 8,
        "quantityAvailable": 8,
        "item": {"sku": item.sku, "preferredVendor": {"name": vendor.name}},
    }


async def test_subscriptions_obey_the_trusted_documents(gateway_settings: Settings, tmp_path: Path) -> None:
    trusted = "subscription Stock($s: String) { stockLevelChanged(sku: $s) { sku } }"
    manifest = tmp_path / "trusted.json"
    manifest.write_text(json.dumps({sha256(trusted): trusted}))
    config = GatewayConfig(trusted_documents=(manifest,))
    async with live(gateway_settings, config) as (app, base_url), WsClient.open(base_url) as ws:
        await ws.subscribe("subscription { stockLevelChanged { sku quantityOnHand } }", id="other")
        refused = await ws.receive()
        persisted = {"persistedQuery": {"version": 1, "sha256Hash": sha256(trusted)}}
        await ws.send({"id": "ok", "type": "subscribe", "payload": {"variables": {"s": "X"}, "extensions": persisted}})
        hub = hub_of(app)
        await wait_for(lambda: hub.subscriber_count(hub.subject("inventory.StockLevelChanged")) == 1)

    assert refused["type"] == "error"
    assert refused["id"] == "other"
    assert refused["payload"][0]["extensions"]["code"] == "QUERY_NOT_IN_SAFELIST"
