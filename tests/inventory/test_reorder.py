"""ReorderPointReached: once per crossing of the reorder point, again after the stock rose above it."""

from __future__ import annotations

import uuid

import asyncpg
from erp.inventory.v1 import events_pb2 as ev
from erp.inventory.v1 import inventory_pb2 as pb
from erp.inventory.v1 import inventory_service_pb2 as api
from erp.procurement.v1 import events_pb2 as po_ev
from google.protobuf.field_mask_pb2 import FieldMask
from nats.aio.client import Client

from services.runtime.events import event_subject, stream_name
from services.runtime.settings import Settings
from tests.inventory.helpers import (
    Stub,
    adjust,
    create_item,
    dec,
    events,
    get_item,
    item_row,
    processed,
    publish,
    reserve,
    tag,
)
from tests.runtime.helpers import eventually

REACHED = "ReorderPointReached"


async def reached(db: asyncpg.Connection, item_id: str) -> list[int]:
    """The available quantity of every ReorderPointReached of the item."""
    return [e.quantity_available for e in await events(db, item_id, REACHED)]


async def test_once_per_crossing(stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings) -> None:
    vendor = str(uuid.uuid4())
    item = await create_item(
        stub,
        quantity_on_hand=10,
        reorder_point=5,
        reorder_quantity=25,
        unit_cost=dec("3.20"),
        preferred_vendor_id=vendor,
    )
    for quantity in (2, 3, 1, 2):  # available 8, 5 (crossing), 4, 2
        await reserve(stub, item.id, quantity)
    assert await reached(db, item.id) == [5]
    [event] = await events(db, item.id, REACHED)
    assert (event.sku, event.item_id, event.reorder_point, event.reorder_quantity) == (item.sku, item.id, 5, 25)
    assert (event.preferred_vendor_id, event.unit_cost.value, event.quantity_on_order) == (vendor, "3.20", 0)

    # A receipt lifts available above the point (12): no event, the crossing is armed again.
    event_id, _ = await publish(
        nats_client,
        settings,
        po_ev.PurchaseOrderReceived(
            po_number=f"PO-{tag()}",
            lines=[po_ev.ReceiptLine(sku=item.sku, quantity_received=10, unit_cost=dec("3.20"))],
        ),
    )
    await processed(db, event_id)
    row = await item_row(db, item.id)
    assert row is not None and (row["quantity_available"], row["reorder_triggered"]) == (12, False)
    assert await reached(db, item.id) == [5]
    await reserve(stub, item.id, 6)  # 6: still above
    await reserve(stub, item.id, 3)  # 3: crossing again
    await reserve(stub, item.id, 1)  # 2
    assert await reached(db, item.id) == [5, 3]

    # The outbox relay publishes it to JetStream, where procurement picks it up.
    subject = event_subject(settings.subject_root, "erp.inventory.v1.ReorderPointReached")

    async def published() -> ev.ReorderPointReached | None:
        raw = await nats_client.jetstream().get_last_msg(stream_name(settings.subject_root, "inventory"), subject)
        msg = ev.ReorderPointReached()
        msg.ParseFromString(raw.data or b"")
        return msg if (msg.item_id, msg.quantity_available) == (item.id, 3) else None

    last = await eventually(published, timeout_s=10)
    assert (last.sku, last.reorder_point, last.reorder_quantity) == (item.sku, 5, 25)


async def test_release_and_write_off_cross_too(stub: Stub, db: asyncpg.Connection) -> None:
    item = await create_item(stub, quantity_on_hand=6, reorder_point=4)
    r = (await reserve(stub, item.id, 3)).reservation  # 3: crossing
    await stub.ReleaseReservation(api.ReleaseReservationRequest(id=r.id))  # 6: above again
    await adjust(stub, item.id, -1, pb.STOCK_MOVEMENT_TYPE_DAMAGE)  # 5
    await adjust(stub, item.id, -1, pb.STOCK_MOVEMENT_TYPE_THEFT)  # 4: crossing
    await adjust(stub, item.id, -4, pb.STOCK_MOVEMENT_TYPE_ADJUSTMENT)  # 0
    assert await reached(db, item.id) == [3, 4]


async def test_raising_the_reorder_point_is_a_crossing(stub: Stub, db: asyncpg.Connection) -> None:
    item = await create_item(stub, quantity_on_hand=10, reorder_point=2)

    async def set_point(point: int) -> None:
        fields = pb.InventoryItem(id=item.id, reorder_point=point)
        request = api.UpdateInventoryItemRequest(inventory_item=fields, update_mask=FieldMask(paths=["reorder_point"]))
        await stub.UpdateInventoryItem(request)

    await set_point(10)  # available 10 <= 10
    await set_point(12)  # still at or below: no second event
    assert await reached(db, item.id) == [10]
    [event] = await events(db, item.id, REACHED)
    assert event.reorder_point == 10


async def test_only_active_items_are_signalled(stub: Stub, db: asyncpg.Connection) -> None:
    item = await create_item(stub, quantity_on_hand=10, reorder_point=5)
    status = pb.InventoryItem(id=item.id, status=pb.INVENTORY_ITEM_STATUS_DISCONTINUED)
    await stub.UpdateInventoryItem(
        api.UpdateInventoryItemRequest(inventory_item=status, update_mask=FieldMask(paths=["status"]))
    )
    await reserve(stub, item.id, 6)  # discontinued stock is still sold, never reordered
    assert await reached(db, item.id) == []
    assert (await get_item(stub, item.id)).quantity_available == 4
