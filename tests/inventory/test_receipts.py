"""Procurement's events through real NATS: quantity on order, receipts with moving-average cost,
unknown SKUs reported, and exactly-once effects for redelivered events."""

from __future__ import annotations

import json
import uuid

import asyncpg
from erp.procurement.v1 import events_pb2 as po_ev
from erp.procurement.v1 import procurement_pb2 as po_pb
from nats.aio.client import Client

from services.runtime.settings import Settings
from tests.inventory.helpers import (
    Stub,
    assert_ledger_invariants,
    create_item,
    dec,
    events,
    get_item,
    movements,
    processed,
    publish,
    reserve,
    tag,
)


def ordered(po_number: str, *lines: tuple[str, int]) -> po_ev.PurchaseOrderOrdered:
    return po_ev.PurchaseOrderOrdered(
        purchase_order_id=str(uuid.uuid4()),
        po_number=po_number,
        lines=[po_ev.PurchaseOrderLine(line_number=i + 1, sku=sku, quantity=q) for i, (sku, q) in enumerate(lines)],
    )


def received(po_number: str, *lines: tuple[str, int, int, str]) -> po_ev.PurchaseOrderReceived:
    return po_ev.PurchaseOrderReceived(
        purchase_order_id=str(uuid.uuid4()),
        po_number=po_number,
        lines=[
            po_ev.ReceiptLine(sku=sku, quantity_received=ok, quantity_rejected=bad, unit_cost=dec(cost))
            for sku, ok, bad, cost in lines
        ],
    )


def cancelled(po_number: str, previous: int, *lines: tuple[str, int]) -> po_ev.PurchaseOrderCancelled:
    return po_ev.PurchaseOrderCancelled(
        purchase_order_id=str(uuid.uuid4()),
        po_number=po_number,
        previous_status=previous,
        lines=[po_ev.PurchaseOrderLine(sku=sku, quantity=q) for sku, q in lines],
    )


async def test_ordered_then_received(
    stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings
) -> None:
    item = await create_item(stub, quantity_on_hand=10, unit_cost=dec("5.00"))
    po = f"PO-{tag()}"
    event_id, _ = await publish(nats_client, settings, ordered(po, (item.sku, 40)))
    await processed(db, event_id)
    assert (await get_item(stub, item.id)).quantity_on_order == 40

    unknown = f"NOPE-{tag()}"
    event_id, _ = await publish(nats_client, settings, received(po, (item.sku, 30, 2, "7.00"), (unknown, 5, 0, "1.00")))
    result = json.loads(await processed(db, event_id))
    assert result["skipped"] == [{"sku": unknown, "reason": "unknown sku"}]
    assert result["applied"] == [{"sku": item.sku, "quantity_received": 30, "unit_cost": "6.50"}]
    after = await get_item(stub, item.id)
    # 10 @ 5.00 + 30 @ 7.00 = 40 @ 6.50; 40 on order - 30 received - 2 rejected = 8.
    assert (after.quantity_on_hand, after.unit_cost.value, after.quantity_on_order) == (40, "6.50", 8)
    receipt = (await movements(db, item.id))[-1]
    assert (receipt["movement_type"], receipt["quantity"], receipt["reference"], receipt["moved_by"]) == (
        "receipt",
        30,
        po,
        None,
    )
    [moved] = [m for m in await events(db, item.id, "StockMoved") if m.reference == po]
    assert (moved.quantity, moved.previous_quantity, moved.new_quantity) == (30, 10, 40)
    level = (await events(db, item.id, "StockLevelChanged"))[-1]
    assert (level.quantity_on_hand, level.quantity_on_order, level.version) == (40, 8, after.version)
    await assert_ledger_invariants(db, item.id)


async def test_receipt_rounding_and_over_receipt(
    stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings
) -> None:
    item = await create_item(stub, quantity_on_hand=1, unit_cost=dec("2.00"))
    po = f"PO-{tag()}"
    # Nothing was on order: on order stays at 0 (never negative); 2.025 rounds half-up to 2.03.
    event_id, _ = await publish(nats_client, settings, received(po, (item.sku, 1, 3, "2.05")))
    await processed(db, event_id)
    after = await get_item(stub, item.id)
    assert (after.quantity_on_hand, after.unit_cost.value, after.quantity_on_order) == (2, "2.03", 0)
    # Reserved units count as on hand for the average: 2 on hand (all reserved) @ 2.03 + 2 @ 3.00.
    await reserve(stub, item.id, 2)
    event_id, _ = await publish(nats_client, settings, received(po, (item.sku, 2, 0, "3.00")))
    await processed(db, event_id)
    assert (await get_item(stub, item.id)).unit_cost.value == "2.52"  # 10.06 / 4 = 2.515 -> 2.52
    await assert_ledger_invariants(db, item.id)


async def test_redelivered_receipt_applies_once(
    stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings
) -> None:
    item = await create_item(stub, quantity_on_hand=0, unit_cost=dec("1.00"))
    message = received(f"PO-{tag()}", (item.sku, 5, 0, "4.00"))
    event_id, first = await publish(nats_client, settings, message)
    # The same event again: JetStream drops it as a duplicate (same Nats-Msg-Id) ...
    _, again = await publish(nats_client, settings, message, event_id=event_id)
    assert not first.duplicate and again.duplicate
    await processed(db, event_id)
    # ... and when it is delivered anyway (outside the window: another Nats-Msg-Id, same ce-id),
    # processed_events makes it a no-op.
    _, redelivered = await publish(nats_client, settings, message, event_id=event_id, msg_id=f"{event_id}-late")
    assert not redelivered.duplicate
    marker = await create_item(stub)
    marker_id, _ = await publish(nats_client, settings, ordered(f"PO-{tag()}", (marker.sku, 1)))
    await processed(db, marker_id)  # one consumer, in order: the redelivery was handled before
    after = await get_item(stub, item.id)
    assert (after.quantity_on_hand, after.unit_cost.value) == (5, "4.00")
    assert len([m for m in await movements(db, item.id) if m["movement_type"] == "receipt"]) == 1
    await assert_ledger_invariants(db, item.id)


async def test_cancelled_orders(stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings) -> None:
    item = await create_item(stub)
    po = f"PO-{tag()}"
    event_id, _ = await publish(nats_client, settings, ordered(po, (item.sku, 10), (item.sku, 5)))
    await processed(db, event_id)
    assert (await get_item(stub, item.id)).quantity_on_order == 15
    # A cancelled order that was never sent to the vendor never added to on order.
    event_id, _ = await publish(
        nats_client, settings, cancelled(po, po_pb.PURCHASE_ORDER_STATUS_APPROVED, (item.sku, 15))
    )
    assert json.loads(await processed(db, event_id))["ignored"]
    assert (await get_item(stub, item.id)).quantity_on_order == 15
    event_id, _ = await publish(
        nats_client, settings, cancelled(po, po_pb.PURCHASE_ORDER_STATUS_ORDERED, (item.sku, 6), ("NOPE", 1))
    )
    assert json.loads(await processed(db, event_id))["skipped"] == [{"sku": "NOPE", "reason": "unknown sku"}]
    assert (await get_item(stub, item.id)).quantity_on_order == 9
    # More than is on order: down to zero, never below.
    event_id, _ = await publish(
        nats_client, settings, cancelled(po, po_pb.PURCHASE_ORDER_STATUS_PARTIALLY_RECEIVED, (item.sku, 50))
    )
    await processed(db, event_id)
    after = await get_item(stub, item.id)
    assert (after.quantity_on_order, after.quantity_on_hand) == (0, 0)
    assert [e.quantity_on_order for e in await events(db, item.id, "StockLevelChanged")] == [10, 15, 9, 0]


async def test_bad_receipt_lines_are_skipped(
    stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings
) -> None:
    good, bad = await create_item(stub, unit_cost=dec("1.00")), await create_item(stub, unit_cost=dec("1.00"))
    message = received(f"PO-{tag()}", (bad.sku, 3, 0, "not-a-number"), (good.sku, 3, 0, "2.00"), (bad.sku, -1, 0, "1"))
    event_id, _ = await publish(nats_client, settings, message)
    result = json.loads(await processed(db, event_id))
    assert [s["sku"] for s in result["skipped"]] == [bad.sku, bad.sku]
    assert (await get_item(stub, good.id)).quantity_on_hand == 3
    assert (await get_item(stub, bad.id)).quantity_on_hand == 0
    assert await movements(db, bad.id) == []
