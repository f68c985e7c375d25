"""AdjustStock (adjustment, damage, theft), StockAdjusted values, the movement ledger invariant
and ListStockMovements."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
from erp.inventory.v1 import inventory_pb2 as pb
from erp.inventory.v1 import inventory_service_pb2 as api
from google.protobuf.timestamp_pb2 import Timestamp

from tests.inventory.helpers import (
    USER_ID,
    Code,
    Stub,
    TravelClock,
    adjust,
    assert_ledger_invariants,
    create_item,
    dec,
    events,
    new_id,
    rejected,
    reserve,
)

ADJUSTMENT = pb.STOCK_MOVEMENT_TYPE_ADJUSTMENT
DAMAGE = pb.STOCK_MOVEMENT_TYPE_DAMAGE
THEFT = pb.STOCK_MOVEMENT_TYPE_THEFT


async def test_write_offs_record_their_value(stub: Stub, db: asyncpg.Connection) -> None:
    item = await create_item(stub, quantity_on_hand=20, unit_cost=dec("6.50"))
    done = await adjust(stub, item.id, -3, DAMAGE, reason="forklift", reference="COUNT-7", version=1)
    assert (done.inventory_item.quantity_on_hand, done.inventory_item.version) == (17, 2)
    movement = done.movement
    assert (movement.movement_type, movement.quantity, movement.previous_quantity, movement.new_quantity) == (
        DAMAGE,
        -3,
        20,
        17,
    )
    assert (movement.reason, movement.reference, movement.moved_by) == ("forklift", "COUNT-7", USER_ID)
    await adjust(stub, item.id, -2, THEFT, reason="missing")
    await adjust(stub, item.id, 4, ADJUSTMENT, reason="recount")
    adjusted = await events(db, item.id, "StockAdjusted")
    assert [(e.movement_type, e.quantity, e.unit_cost.value, e.value.value) for e in adjusted] == [
        (DAMAGE, -3, "6.50", "-19.50"),
        (THEFT, -2, "6.50", "-13.00"),
        (ADJUSTMENT, 4, "6.50", "26.00"),
    ]
    assert adjusted[0].movement_id == movement.id and adjusted[0].reason == "forklift"
    assert [e.version for e in adjusted] == [2, 3, 4]
    moved = await events(db, item.id, "StockMoved")
    assert [(m.quantity, m.previous_quantity, m.new_quantity) for m in moved] == [
        (20, 0, 20),
        (-3, 20, 17),
        (-2, 17, 15),
        (4, 15, 19),
    ]
    levels = await events(db, item.id, "StockLevelChanged")
    assert [lv.quantity_on_hand for lv in levels] == [20, 17, 15, 19]
    await assert_ledger_invariants(db, item.id)


async def test_adjustment_rejections_write_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    item = await create_item(stub, quantity_on_hand=10)
    await reserve(stub, item.id, 4)  # 10 on hand, 4 reserved, 6 available; version 2
    ids = (item.id,)

    def call(quantity: int, movement_type: int = ADJUSTMENT, **extra: object):
        return lambda: adjust(stub, item.id, quantity, movement_type, **extra)

    invalid = Code.INVALID_ARGUMENT
    await rejected(db, call(0), invalid, fields=("quantity",), items=ids)
    await rejected(db, call(2, DAMAGE), invalid, fields=("quantity",), items=ids)
    await rejected(db, call(2, THEFT), invalid, fields=("quantity",), items=ids)
    await rejected(db, call(-1, reason=" "), invalid, fields=("reason",), items=ids)
    await rejected(db, call(-1, pb.STOCK_MOVEMENT_TYPE_RECEIPT), invalid, fields=("movement_type",), items=ids)
    await rejected(db, call(-1, pb.STOCK_MOVEMENT_TYPE_RESERVATION), invalid, fields=("movement_type",), items=ids)
    await rejected(db, call(-1, pb.STOCK_MOVEMENT_TYPE_UNSPECIFIED), invalid, fields=("movement_type",), items=ids)
    await rejected(db, call(-1, reference="r" * 101), invalid, fields=("reference",), items=ids)
    bad_id = api.AdjustStockRequest(item_id="x", movement_type=ADJUSTMENT, quantity=1, reason="r")
    await rejected(db, lambda: stub.AdjustStock(bad_id), invalid, fields=("item_id",))
    # More than on hand, or eating into the reserved units: a forbidden state change.
    await rejected(db, call(-11, THEFT), Code.FAILED_PRECONDITION, items=ids)
    await rejected(db, call(-7, DAMAGE), Code.FAILED_PRECONDITION, items=ids)
    await rejected(db, call(2**31 - 5), Code.FAILED_PRECONDITION, items=ids)
    await rejected(db, call(-1, version=1), Code.ABORTED, items=ids)
    missing = api.AdjustStockRequest(item_id=new_id(), movement_type=ADJUSTMENT, quantity=1, reason="r")
    await rejected(db, lambda: stub.AdjustStock(missing), Code.NOT_FOUND)
    # Exactly the available units can be written off.
    assert (await adjust(stub, item.id, -6, DAMAGE, version=2)).inventory_item.quantity_available == 0
    await assert_ledger_invariants(db, item.id)


async def test_on_hand_is_the_sum_of_movements(stub: Stub, db: asyncpg.Connection) -> None:
    """Across every kind of change (opening stock, adjustments, reservations, fulfilment,
    release, write-offs) quantity on hand equals the sum of the movements."""
    item = await create_item(stub, quantity_on_hand=30)
    order = new_id()
    first = (await reserve(stub, item.id, 5, order_id=order)).reservation
    await reserve(stub, item.id, 3, order_id=order)
    other = (await reserve(stub, item.id, 7)).reservation
    await adjust(stub, item.id, 6)
    await adjust(stub, item.id, -2, DAMAGE)
    await stub.FulfilReservation(api.FulfilReservationRequest(id=first.id))
    await stub.ReleaseReservation(api.ReleaseReservationRequest(id=other.id, reason="customer cancelled"))
    await stub.FulfilOrder(api.FulfilOrderRequest(order_id=order))
    await adjust(stub, item.id, -1, THEFT)
    final = (await stub.GetInventoryItem(api.GetInventoryItemRequest(id=item.id))).inventory_item
    assert (final.quantity_on_hand, final.quantity_reserved) == (30 + 6 - 2 - 5 - 3 - 1, 0)
    await assert_ledger_invariants(db, item.id)
    listed = await stub.ListStockMovements(api.ListStockMovementsRequest(item_id=item.id))
    assert sum(m.quantity for m in listed.movements) == final.quantity_on_hand
    assert listed.total_size == 6


async def test_list_movements(stub: Stub, clock: TravelClock) -> None:
    item = await create_item(stub, quantity_on_hand=10)
    reference = f"REF-{uuid.uuid4().hex[:8]}"
    clock.advance(timedelta(minutes=5))
    await adjust(stub, item.id, -1, DAMAGE, reference=reference)
    clock.advance(timedelta(minutes=5))
    await adjust(stub, item.id, 2, reference=reference)
    listed = await stub.ListStockMovements(api.ListStockMovementsRequest(item_id=item.id))
    assert [m.quantity for m in listed.movements] == [2, -1, 10]  # newest first
    by_type = await stub.ListStockMovements(api.ListStockMovementsRequest(item_id=item.id, movement_types=[DAMAGE]))
    assert [m.quantity for m in by_type.movements] == [-1]
    by_reference = await stub.ListStockMovements(api.ListStockMovementsRequest(reference=reference))
    assert [m.quantity for m in by_reference.movements] == [2, -1]
    start = Timestamp()
    start.FromDatetime(clock.now() - timedelta(minutes=7))
    end = Timestamp()
    end.FromDatetime(clock.now() - timedelta(minutes=1))
    window = await stub.ListStockMovements(
        api.ListStockMovementsRequest(item_id=item.id, start_time=start, end_time=end)
    )
    assert [m.quantity for m in window.movements] == [-1]
    paged = await stub.ListStockMovements(api.ListStockMovementsRequest(item_id=item.id, page_size=2))
    rest = await stub.ListStockMovements(
        api.ListStockMovementsRequest(item_id=item.id, page_size=2, page_token=paged.next_page_token)
    )
    assert [m.quantity for m in paged.movements] + [m.quantity for m in rest.movements] == [2, -1, 10]


async def test_list_movements_and_reservations_of_several_items(stub: Stub) -> None:
    """item_ids: the movements (reservations) of many items in one call, newest first; with
    item_id the items of both."""
    a, b, c = [await create_item(stub, quantity_on_hand=q) for q in (10, 20, 30)]
    await adjust(stub, a.id, 1)
    await adjust(stub, b.id, 2)
    await reserve(stub, a.id, 3)
    await reserve(stub, c.id, 4)
    both = await stub.ListStockMovements(api.ListStockMovementsRequest(item_ids=[a.id, b.id]))
    assert [(m.item_id, m.quantity) for m in both.movements] == [
        (b.id, 2),
        (a.id, 1),
        (b.id, 20),
        (a.id, 10),
    ]
    union = await stub.ListStockMovements(api.ListStockMovementsRequest(item_id=c.id, item_ids=[a.id, a.id]))
    assert {m.item_id for m in union.movements} == {a.id, c.id} and union.total_size == 3  # 2 of a, 1 of c
    reserved = await stub.ListReservations(api.ListReservationsRequest(item_ids=[a.id, b.id, c.id]))
    assert [(r.item_id, r.quantity) for r in reserved.reservations] == [(c.id, 4), (a.id, 3)]


async def test_list_movements_rejects_bad_filters(stub: Stub, db: asyncpg.Connection) -> None:
    later, earlier = Timestamp(seconds=2_000_000_000), Timestamp(seconds=1_000_000_000)
    for request, field in [
        (api.ListStockMovementsRequest(item_id="x"), "item_id"),
        (api.ListStockMovementsRequest(item_ids=[str(uuid.uuid4()), "x"]), "item_ids"),
        (api.ListStockMovementsRequest(item_ids=[str(uuid.uuid4()) for _ in range(1001)]), "item_ids"),
        (api.ListStockMovementsRequest(movement_types=[42]), "movement_types"),
        (api.ListStockMovementsRequest(start_time=later, end_time=earlier), "end_time"),
        (api.ListStockMovementsRequest(start_time=Timestamp(seconds=2**40)), "start_time"),
    ]:
        await rejected(db, lambda r=request: stub.ListStockMovements(r), Code.INVALID_ARGUMENT, fields=(field,))
