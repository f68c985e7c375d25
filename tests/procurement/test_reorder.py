"""The event consumers through real NATS: inventory's ReorderPointReached creates exactly one
auto-reorder purchase order per crossing (redelivered, re-published or repeated events create
nothing more); accounting's JournalEntryPosted links the order to its journal entry."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from erp.accounting.v1 import events_pb2 as accounting_ev
from erp.inventory.v1 import events_pb2 as inventory_ev
from erp.procurement.v1 import procurement_pb2 as pb
from erp.procurement.v1 import procurement_service_pb2 as api
from google.protobuf.message import Message
from nats.aio.client import Client

from services.runtime.context import CallContext
from services.runtime.events import H_MSG_ID, build_headers, event_subject
from services.runtime.service import RunningService
from services.runtime.settings import Settings
from tests.procurement.helpers import (
    APPROVER,
    Stub,
    create_vendor,
    day,
    dec,
    ordered_order,
    receive,
    set_vendor_status,
    tag,
)
from tests.runtime.helpers import eventually


async def publish(
    nats_client: Client, settings: Settings, message: Message, event_id: uuid.UUID, *, msg_id: str | None = None
) -> None:
    """Publish like another service's relay would (CloudEvents headers; Nats-Msg-Id = event id
    unless `msg_id` overrides it, which lets a duplicate past JetStream's de-duplication)."""
    event_type = message.DESCRIPTOR.full_name
    headers = build_headers(
        event_id=event_id,
        event_type=event_type,
        aggregate_id=str(uuid.uuid4()),
        ctx=CallContext(user_id=uuid.uuid4(), correlation_id=uuid.uuid4()),
        occurred_at=datetime.now(UTC),
    )
    if msg_id is not None:
        headers[H_MSG_ID] = msg_id
    await nats_client.jetstream().publish(
        event_subject(settings.subject_root, event_type), message.SerializeToString(), headers=headers
    )


async def applied(db: asyncpg.Connection, event_id: uuid.UUID) -> dict[str, Any]:
    """Wait until the consumer has applied the event; its recorded result ({} when it returned none)."""

    async def row() -> Any:
        return await db.fetchrow("SELECT result::text AS result FROM processed_events WHERE event_id = $1", event_id)

    found = await eventually(row)
    return json.loads(found["result"]) if found["result"] else {}


async def auto_orders(db: asyncpg.Connection, sku: str) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT id, status, created_by, notes, vendor_id FROM purchase_orders WHERE auto_reorder_sku = $1 "
        "ORDER BY created_at",
        sku,
    )
    return [dict(r) for r in rows]


def crossing(sku: str, vendor_id: str, **kw: Any) -> inventory_ev.ReorderPointReached:
    values: dict[str, Any] = {
        "sku": sku,
        "item_id": str(uuid.uuid4()),
        "quantity_available": 3,
        "quantity_on_order": 0,
        "reorder_point": 5,
        "reorder_quantity": 40,
        "preferred_vendor_id": vendor_id,
        "unit_cost": dec("2.35"),
    }
    values.update(kw)
    return inventory_ev.ReorderPointReached(**values)


async def test_one_auto_reorder_per_crossing(
    stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings, procurement_service: RunningService
) -> None:
    vendor = await create_vendor(stub)
    sku = f"AUTO-{tag()}"
    first = uuid.uuid4()
    await publish(nats_client, settings, crossing(sku, vendor.id), first)
    await publish(nats_client, settings, crossing(sku, vendor.id), first)  # JetStream drops it (same Nats-Msg-Id)
    await publish(nats_client, settings, crossing(sku, vendor.id), first, msg_id=f"{first}.again")  # redelivered
    again = uuid.uuid4()
    await publish(nats_client, settings, crossing(sku, vendor.id), again)  # re-published with a new id

    created = await applied(db, first)
    assert created["created"] is True
    result = await applied(db, again)
    assert result["created"] is False and "already exists" in result["reason"]
    assert result["purchase_order_id"] == created["purchase_order_id"]

    [row] = await auto_orders(db, sku)
    assert (row["status"], row["created_by"], row["notes"], str(row["vendor_id"])) == (
        "pending",
        None,
        "auto-reorder",
        vendor.id,
    )
    po = (await stub.GetPurchaseOrder(api.GetPurchaseOrderRequest(id=str(row["id"])))).purchase_order
    assert po.created_by == "" and po.po_number == created["po_number"]
    assert [(i.sku, i.quantity, i.unit_price.value, i.amount.value) for i in po.items] == [(sku, 40, "2.35", "94.00")]
    assert po.total_amount.value == "94.00" and po.status == pb.PURCHASE_ORDER_STATUS_PENDING
    today = date.today()
    assert (po.order_date.year, po.order_date.month, po.order_date.day) == (today.year, today.month, today.day)
    assert await db.fetchval("SELECT count(*) FROM processed_events WHERE event_id = $1", first) == 1

    # Approved, then ordered: still open. Once received (the crossing is over), the next one orders again.
    req = api.ApprovePurchaseOrderRequest(id=po.id, version=po.version)
    approved = (await stub.ApprovePurchaseOrder(req, metadata=(("x-erp-user-id", APPROVER),))).purchase_order
    placed = (
        await stub.MarkPurchaseOrderOrdered(api.MarkPurchaseOrderOrderedRequest(id=po.id, version=approved.version))
    ).purchase_order
    still_open = uuid.uuid4()
    await publish(nats_client, settings, crossing(sku, vendor.id), still_open)
    assert (await applied(db, still_open))["created"] is False  # ordered is still open
    await receive(stub, placed, [(0, 40, 0)], day(today.year, today.month, today.day))
    next_crossing = uuid.uuid4()
    await publish(nats_client, settings, crossing(sku, vendor.id), next_crossing)
    assert (await applied(db, next_crossing))["created"] is True
    assert [r["status"] for r in await auto_orders(db, sku)] == ["received", "pending"]


async def test_a_cancelled_auto_reorder_no_longer_blocks(
    stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings, procurement_service: RunningService
) -> None:
    vendor = await create_vendor(stub)
    sku = f"AUTO-{tag()}"
    first = uuid.uuid4()
    await publish(nats_client, settings, crossing(sku, vendor.id), first)
    created = await applied(db, first)
    await stub.CancelPurchaseOrder(
        api.CancelPurchaseOrderRequest(id=created["purchase_order_id"], reason="stock found")
    )
    second = uuid.uuid4()
    await publish(nats_client, settings, crossing(sku, vendor.id), second)
    assert (await applied(db, second))["created"] is True
    assert [r["status"] for r in await auto_orders(db, sku)] == ["cancelled", "pending"]


async def test_no_order_without_an_active_preferred_vendor(
    stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings, procurement_service: RunningService
) -> None:
    suspended = await set_vendor_status(stub, await create_vendor(stub), pb.VENDOR_STATUS_SUSPENDED)
    inactive = await set_vendor_status(stub, await create_vendor(stub), pb.VENDOR_STATUS_INACTIVE)
    vendor = await create_vendor(stub)
    sku = f"AUTO-{tag()}"
    cases = [
        (crossing(sku, ""), "no preferred vendor"),
        (crossing(sku, suspended.id), "suspended"),
        (crossing(sku, inactive.id), "inactive"),
        (crossing(sku, str(uuid.uuid4())), "does not exist"),
        (crossing(sku, "not-a-uuid"), "not a UUID"),
        (crossing(sku, vendor.id, reorder_quantity=0), "reorder_quantity must be greater than zero"),
        (crossing(sku, vendor.id, unit_cost=dec("-1")), "unit_cost must not be negative"),
        (crossing(sku, vendor.id, unit_cost=dec("")), "unit_cost"),
        (crossing("", vendor.id), "sku"),
    ]
    for message, reason in cases:
        event_id = uuid.uuid4()
        await publish(nats_client, settings, message, event_id)
        result = await applied(db, event_id)
        assert result["created"] is False and reason in result["reason"], result
    assert await auto_orders(db, sku) == []


async def test_journal_entry_posted_links_the_order(
    stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings, procurement_service: RunningService
) -> None:
    vendor = await create_vendor(stub)
    po = await receive(stub, await ordered_order(stub, vendor.id), [(0, 5, 0)])
    entry, later = uuid.uuid4(), uuid.uuid4()
    for journal_entry_id, source_id in ((entry, po.id), (later, "receipt-2")):
        event_id = uuid.uuid4()
        posted = accounting_ev.JournalEntryPosted(
            journal_entry_id=str(journal_entry_id),
            source_service="procurement",
            source_id=source_id,
            reference=po.po_number,
        )
        await publish(nats_client, settings, posted, event_id)
        await applied(db, event_id)
    got = (await stub.GetPurchaseOrder(api.GetPurchaseOrderRequest(id=po.id))).purchase_order
    assert got.accounting_transaction_id == str(entry)  # the first posting is kept
    assert got.version == po.version + 1

    other = uuid.uuid4()
    foreign = accounting_ev.JournalEntryPosted(
        journal_entry_id=str(uuid.uuid4()), source_service="payroll", source_id=po.id
    )
    await publish(nats_client, settings, foreign, other)
    assert await applied(db, other) == {}
