"""Reservations: reserve (and the no-oversell race), release, fulfil one or a whole order, expire."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import grpc
from erp.inventory.v1 import inventory_pb2 as pb
from erp.inventory.v1 import inventory_service_pb2 as api
from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp

from tests.inventory.helpers import (
    CALLER,
    USER_ID,
    Code,
    Stub,
    TravelClock,
    adjust,
    assert_ledger_invariants,
    create_item,
    dec,
    event_names,
    events,
    get_item,
    item_row,
    movements,
    new_id,
    nothing_written,
    rejected,
    reservation_rows,
    reserve,
)

ACTIVE = pb.STOCK_RESERVATION_STATUS_ACTIVE
FULFILLED = pb.STOCK_RESERVATION_STATUS_FULFILLED
CANCELLED = pb.STOCK_RESERVATION_STATUS_CANCELLED
EXPIRED = pb.STOCK_RESERVATION_STATUS_EXPIRED


async def test_reserve_by_id_and_by_sku(stub: Stub, db: asyncpg.Connection) -> None:
    item = await create_item(stub, quantity_on_hand=10)
    customer = new_id()
    done = await reserve(stub, item.id, 4, customer_id=customer, ttl_s=3600)
    r = done.reservation
    assert (r.status, r.quantity, r.customer_id, r.item_id) == (ACTIVE, 4, customer, item.id)
    assert r.expires_at.ToDatetime() - r.reserved_at.ToDatetime() == timedelta(hours=1)
    assert (done.inventory_item.quantity_reserved, done.inventory_item.quantity_available) == (4, 6)
    assert done.inventory_item.quantity_on_hand == 10 and done.inventory_item.version == 2
    by_sku = await stub.ReserveStock(api.ReserveStockRequest(sku=item.sku, quantity=6, order_id=new_id()))
    assert by_sku.inventory_item.quantity_available == 0 and not by_sku.reservation.HasField("expires_at")
    [reserved, _] = await events(db, r.id, "StockReserved") + await events(db, by_sku.reservation.id, "StockReserved")
    assert (reserved.quantity, reserved.order_id, reserved.customer_id, reserved.quantity_available) == (
        4,
        r.order_id,
        customer,
        6,
    )
    # Reservations write no movement: on hand did not change.
    assert len(await movements(db, item.id)) == 1
    await assert_ledger_invariants(db, item.id)


async def test_reserve_rejections_write_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    item = await create_item(stub, quantity_on_hand=5)
    ids = (item.id,)

    def call(**values: object):
        request = api.ReserveStockRequest(**{"item_id": item.id, "quantity": 1, "order_id": new_id(), **values})
        return lambda: stub.ReserveStock(request)

    invalid = Code.INVALID_ARGUMENT
    await rejected(db, call(quantity=0), invalid, fields=("quantity",), items=ids)
    await rejected(db, call(quantity=-2), invalid, fields=("quantity",), items=ids)
    await rejected(db, call(order_id=""), invalid, fields=("order_id",), items=ids)
    await rejected(db, call(customer_id="c"), invalid, fields=("customer_id",), items=ids)
    await rejected(db, call(sku=item.sku), invalid, fields=("item_id",), items=ids)
    await rejected(db, call(item_id=""), invalid, fields=("item_id",), items=ids)
    await rejected(db, call(ttl=Duration(seconds=-5)), invalid, fields=("ttl",), items=ids)
    await rejected(db, call(ttl=Duration(seconds=400 * 86400)), invalid, fields=("ttl",), items=ids)
    await rejected(db, call(quantity=6), Code.FAILED_PRECONDITION, items=ids)
    await rejected(db, call(item_id=new_id()), Code.NOT_FOUND)
    await rejected(db, call(item_id="", sku="no-such-sku"), Code.NOT_FOUND)
    inactive = await create_item(stub, quantity_on_hand=5)
    status = pb.InventoryItem(id=inactive.id, status=pb.INVENTORY_ITEM_STATUS_INACTIVE)
    await stub.UpdateInventoryItem(
        api.UpdateInventoryItemRequest(inventory_item=status, update_mask=FieldMask(paths=["status"]))
    )
    await rejected(db, call(item_id=inactive.id), Code.FAILED_PRECONDITION, items=(inactive.id,))


async def test_concurrent_reservations_never_oversell(stub: Stub, db: asyncpg.Connection) -> None:
    item = await create_item(stub, quantity_on_hand=10)

    async def one() -> grpc.StatusCode:
        try:
            await reserve(stub, item.id, 1)
        except grpc.aio.AioRpcError as err:
            return err.code()
        return grpc.StatusCode.OK

    results = await asyncio.gather(*(one() for _ in range(50)))
    assert results.count(grpc.StatusCode.OK) == 10
    assert results.count(grpc.StatusCode.FAILED_PRECONDITION) == 40
    row = await item_row(db, item.id)
    assert row is not None
    assert (row["quantity_on_hand"], row["quantity_reserved"], row["quantity_available"]) == (10, 10, 0)
    assert row["version"] == 11
    active = [r for r in await reservation_rows(db, item.id) if r["status"] == "active"]
    assert len(active) == 10
    assert [e.quantity_available for e in await events(db, item.id, "StockLevelChanged")][1:] == list(range(9, -1, -1))
    await assert_ledger_invariants(db, item.id)


async def test_release(stub: Stub, db: asyncpg.Connection) -> None:
    item = await create_item(stub, quantity_on_hand=8)
    r = (await reserve(stub, item.id, 5)).reservation
    released = await stub.ReleaseReservation(api.ReleaseReservationRequest(id=r.id, reason="changed mind"))
    assert released.reservation.status == CANCELLED
    assert (await get_item(stub, item.id)).quantity_available == 8
    [event] = await events(db, r.id, "ReservationReleased")
    assert (event.quantity, event.reason, event.quantity_available) == (5, "changed mind", 8)
    await rejected(
        db,
        lambda: stub.ReleaseReservation(api.ReleaseReservationRequest(id=r.id)),
        Code.FAILED_PRECONDITION,
        items=(item.id,),
    )
    await rejected(db, lambda: stub.ReleaseReservation(api.ReleaseReservationRequest(id=new_id())), Code.NOT_FOUND)
    await rejected(db, lambda: stub.ReleaseReservation(api.ReleaseReservationRequest(id="x")), Code.INVALID_ARGUMENT)
    await assert_ledger_invariants(db, item.id)


async def test_fulfil_reservation(stub: Stub, db: asyncpg.Connection) -> None:
    item = await create_item(stub, quantity_on_hand=12, unit_cost=dec("6.50"))
    customer = new_id()
    r = (await reserve(stub, item.id, 5, customer_id=customer)).reservation
    done = await stub.FulfilReservation(api.FulfilReservationRequest(id=r.id), metadata=CALLER)
    assert done.reservation.status == FULFILLED and done.reservation.HasField("fulfilled_at")
    m = done.movement
    assert (m.movement_type, m.quantity, m.previous_quantity, m.new_quantity, m.reference, m.moved_by) == (
        pb.STOCK_MOVEMENT_TYPE_FULFILLMENT,
        -5,
        12,
        7,
        r.order_id,
        USER_ID,
    )
    after = await get_item(stub, item.id)
    assert (after.quantity_on_hand, after.quantity_reserved, after.quantity_available) == (7, 0, 7)
    [event] = await events(db, r.id, "ReservationFulfilled")
    assert (event.quantity, event.unit_cost.value, event.total_cost.value, event.customer_id) == (
        5,
        "6.50",
        "32.50",
        customer,
    )
    assert event.order_id == r.order_id and event.sku == item.sku
    # Twice: refused, nothing written.
    await rejected(
        db,
        lambda: stub.FulfilReservation(api.FulfilReservationRequest(id=r.id)),
        Code.FAILED_PRECONDITION,
        items=(item.id,),
    )
    await assert_ledger_invariants(db, item.id)


async def test_fulfil_order(stub: Stub, db: asyncpg.Connection) -> None:
    a = await create_item(stub, quantity_on_hand=10, unit_cost=dec("2.00"))
    b = await create_item(stub, quantity_on_hand=10, unit_cost=dec("3.00"))
    order = new_id()
    ra = (await reserve(stub, a.id, 2, order_id=order)).reservation
    rb = (await reserve(stub, b.id, 3, order_id=order)).reservation
    rb2 = (await reserve(stub, b.id, 1, order_id=order)).reservation
    cancelled = (await reserve(stub, a.id, 1, order_id=order)).reservation
    await stub.ReleaseReservation(api.ReleaseReservationRequest(id=cancelled.id))
    other_order = (await reserve(stub, a.id, 4)).reservation
    done = await stub.FulfilOrder(api.FulfilOrderRequest(order_id=order))
    assert {r.id for r in done.reservations} == {ra.id, rb.id, rb2.id}
    assert all(r.status == FULFILLED for r in done.reservations)
    assert sorted(m.quantity for m in done.movements) == [-3, -2, -1]
    assert (await get_item(stub, a.id)).quantity_on_hand == 8
    assert (await get_item(stub, b.id)).quantity_on_hand == 6
    costs = [(await events(db, r.id, "ReservationFulfilled"))[0].total_cost.value for r in (ra, rb, rb2)]
    assert costs == ["4.00", "9.00", "3.00"]
    # The other order's reservation is untouched.
    assert (await get_item(stub, a.id)).quantity_reserved == other_order.quantity

    # Again: the order is already fulfilled, a no-op that writes nothing.
    async def again() -> api.FulfilOrderResponse:
        return await stub.FulfilOrder(api.FulfilOrderRequest(order_id=order))

    async with nothing_written(db, items=(a.id, b.id)):
        repeat = await again()
    assert list(repeat.reservations) == [] and list(repeat.movements) == []
    for item_id in (a.id, b.id):
        await assert_ledger_invariants(db, item_id)


async def test_fulfil_order_errors(stub: Stub, db: asyncpg.Connection) -> None:
    item = await create_item(stub, quantity_on_hand=3)
    order = new_id()
    r = (await reserve(stub, item.id, 1, order_id=order)).reservation
    await stub.ReleaseReservation(api.ReleaseReservationRequest(id=r.id))
    ids = (item.id,)
    await rejected(
        db, lambda: stub.FulfilOrder(api.FulfilOrderRequest(order_id=order)), Code.FAILED_PRECONDITION, items=ids
    )
    await rejected(db, lambda: stub.FulfilOrder(api.FulfilOrderRequest(order_id=new_id())), Code.NOT_FOUND)
    await rejected(
        db, lambda: stub.FulfilOrder(api.FulfilOrderRequest(order_id="")), Code.INVALID_ARGUMENT, fields=("order_id",)
    )
    await rejected(db, lambda: stub.FulfilReservation(api.FulfilReservationRequest(id=new_id())), Code.NOT_FOUND)
    await rejected(db, lambda: stub.FulfilReservation(api.FulfilReservationRequest(id="")), Code.INVALID_ARGUMENT)
    far = Timestamp(seconds=2**40)
    await rejected(
        db,
        lambda: stub.ExpireReservations(api.ExpireReservationsRequest(as_of_time=far)),
        Code.INVALID_ARGUMENT,
        fields=("as_of_time",),
    )
    long_reason = api.ReleaseReservationRequest(id=new_id(), reason="r" * 10_001)
    await rejected(db, lambda: stub.ReleaseReservation(long_reason), Code.INVALID_ARGUMENT, fields=("reason",))


async def test_expire_with_as_of_time(stub: Stub, db: asyncpg.Connection) -> None:
    item = await create_item(stub, quantity_on_hand=10)
    due = (await reserve(stub, item.id, 3, ttl_s=60)).reservation
    later = (await reserve(stub, item.id, 2, ttl_s=7200)).reservation
    forever = (await reserve(stub, item.id, 1)).reservation
    as_of = Timestamp()
    as_of.FromDatetime(due.expires_at.ToDatetime() + timedelta(seconds=1))
    expired = await stub.ExpireReservations(api.ExpireReservationsRequest(as_of_time=as_of))
    assert [r.id for r in expired.reservations] == [due.id]
    assert expired.reservations[0].status == EXPIRED
    after = await get_item(stub, item.id)
    assert (after.quantity_reserved, after.quantity_available) == (3, 7)
    [event] = await events(db, due.id, "ReservationExpired")
    assert (event.quantity, event.quantity_available, event.expires_at) == (3, 7, due.expires_at)
    # Nothing else is due at that time: a second sweep writes nothing.
    async with nothing_written(db, items=(item.id,)):
        assert not (await stub.ExpireReservations(api.ExpireReservationsRequest(as_of_time=as_of))).reservations
    statuses = {str(r["id"]): r["status"] for r in await reservation_rows(db, item.id)}
    assert statuses[later.id] == statuses[forever.id] == "active"
    # An expired reservation can be neither released nor fulfilled.
    for call in (
        lambda: stub.ReleaseReservation(api.ReleaseReservationRequest(id=due.id)),
        lambda: stub.FulfilReservation(api.FulfilReservationRequest(id=due.id)),
    ):
        await rejected(db, call, Code.FAILED_PRECONDITION, items=(item.id,))
    await assert_ledger_invariants(db, item.id)


async def test_expire_now_with_the_service_clock(stub: Stub, db: asyncpg.Connection, clock: TravelClock) -> None:
    item = await create_item(stub, quantity_on_hand=4, reorder_point=1)
    r = (await reserve(stub, item.id, 4, ttl_s=900)).reservation
    assert await event_names(db, item.id) == [
        "InventoryItemCreated",
        "StockMoved",
        "StockLevelChanged",
        "StockLevelChanged",
        "ReorderPointReached",
    ]
    not_yet = await stub.ExpireReservations(api.ExpireReservationsRequest())
    assert r.id not in [x.id for x in not_yet.reservations]
    clock.advance(timedelta(minutes=16))
    expired = await stub.ExpireReservations(api.ExpireReservationsRequest())
    assert r.id in [x.id for x in expired.reservations]
    after = await get_item(stub, item.id)
    assert (after.quantity_reserved, after.quantity_available) == (0, 4)
    row = await item_row(db, item.id)
    assert row is not None and row["reorder_triggered"] is False  # back above the point
    await assert_ledger_invariants(db, item.id)


async def test_list_reservations(stub: Stub) -> None:
    item = await create_item(stub, quantity_on_hand=10)
    customer, order = new_id(), new_id()
    first = (await reserve(stub, item.id, 1, order_id=order, customer_id=customer)).reservation
    second = (await reserve(stub, item.id, 2, order_id=order)).reservation
    third = (await reserve(stub, item.id, 3)).reservation
    await stub.ReleaseReservation(api.ReleaseReservationRequest(id=third.id))

    async def ids(**filters: object) -> list[str]:
        request = api.ListReservationsRequest(**filters)
        return [r.id for r in (await stub.ListReservations(request)).reservations]

    assert await ids(item_id=item.id) == [third.id, second.id, first.id]  # newest first
    assert await ids(order_id=order) == [second.id, first.id]
    assert await ids(customer_id=customer) == [first.id]
    assert await ids(item_id=item.id, statuses=[CANCELLED]) == [third.id]
    assert await ids(item_id=item.id, statuses=[ACTIVE], page_size=1) == [second.id]


async def test_list_reservations_rejects_bad_filters(stub: Stub, db: asyncpg.Connection) -> None:
    for request, field in [
        (api.ListReservationsRequest(item_id="x"), "item_id"),
        (api.ListReservationsRequest(order_id="x"), "order_id"),
        (api.ListReservationsRequest(customer_id="x"), "customer_id"),
        (api.ListReservationsRequest(statuses=[0]), "statuses"),
    ]:
        await rejected(db, lambda r=request: stub.ListReservations(r), Code.INVALID_ARGUMENT, fields=(field,))


async def test_damage_cannot_take_reserved_units(stub: Stub, db: asyncpg.Connection) -> None:
    item = await create_item(stub, quantity_on_hand=3)
    await reserve(stub, item.id, 3)
    await rejected(
        db, lambda: adjust(stub, item.id, -1, pb.STOCK_MOVEMENT_TYPE_DAMAGE), Code.FAILED_PRECONDITION, items=(item.id,)
    )
