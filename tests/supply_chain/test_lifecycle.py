"""The shipment lifecycle: every allowed change with its history entry and event; every forbidden
change is FAILED_PRECONDITION with nothing written; bad input is INVALID_ARGUMENT."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from erp.supply_chain.v1 import supply_chain_pb2 as pb
from erp.supply_chain.v1 import supply_chain_service_pb2 as api

from tests.supply_chain.helpers import (
    Code,
    Stub,
    at,
    create,
    day,
    deliver,
    dispatch,
    event_names,
    get,
    history,
    item,
    new_id,
    outbox_events,
    rejected,
    tag,
    ts,
)

P = pb.SHIPMENT_STATUS_PENDING
T = pb.SHIPMENT_STATUS_IN_TRANSIT
D = pb.SHIPMENT_STATUS_DELIVERED
C = pb.SHIPMENT_STATUS_CANCELLED
R = pb.SHIPMENT_STATUS_RETURNED
L = pb.SHIPMENT_STATUS_LOST


async def test_outbound_dispatch_and_delivery(stub: Stub, db: asyncpg.Connection) -> None:
    order_id = new_id()
    s = await create(stub, order_id=order_id, items=[item("SKU-1", 4)], estimated_delivery_date=day(2025, 3, 7))
    sent = await dispatch(
        stub, s, at(2025, 3, 3, 8), tracking_number=f"1Z{tag()}", estimated_delivery_date=day(2025, 3, 6)
    )
    assert (sent.status, sent.version, sent.estimated_delivery_date.day) == (T, 2, 6)
    assert sent.dispatched_at.ToDatetime(tzinfo=UTC) == at(2025, 3, 3, 8)
    done = await deliver(stub, sent, at(2025, 3, 6, 15), delivered_to="J. Doe", location="Austin, TX")
    assert (done.status, done.version, done.delivered_to) == (D, 3, "J. Doe")
    assert (done.actual_delivery_date.year, done.actual_delivery_date.month, done.actual_delivery_date.day) == (
        2025,
        3,
        6,
    )
    assert done.delivered_at.ToDatetime(tzinfo=UTC) == at(2025, 3, 6, 15)
    # Oldest first by event time: the back-dated dispatch and delivery precede the creation.
    entries = await history(stub, s.id)
    assert [(e.status, e.location) for e in entries] == [
        (pb.TRACKING_STATUS_DISPATCHED, "Memphis"),
        (pb.TRACKING_STATUS_DELIVERED, "Austin, TX"),
        (pb.TRACKING_STATUS_CREATED, "Memphis"),
    ]
    assert [e.event_time.ToDatetime(tzinfo=UTC) for e in entries[:2]] == [at(2025, 3, 3, 8), at(2025, 3, 6, 15)]
    assert await event_names(db, s.id) == ["ShipmentCreated", "ShipmentDispatched", "ShipmentDelivered"]
    delivered = (await outbox_events(db, s.id, "ShipmentDelivered"))[0]
    assert (delivered.order_id, delivered.shipment_type, delivered.on_time, delivered.version) == (
        order_id,
        pb.SHIPMENT_TYPE_OUTBOUND,
        True,
        3,
    )
    assert [(line.sku, line.quantity) for line in delivered.items] == [("SKU-1", 4)]


async def test_cancel_return_and_lose(stub: Stub, db: asyncpg.Connection) -> None:
    pending = await create(stub)
    cancelled = (await stub.CancelShipment(api.CancelShipmentRequest(id=pending.id, reason="order withdrawn"))).shipment
    assert cancelled.status == C
    assert (await history(stub, pending.id))[-1].notes == "order withdrawn"
    assert (await outbox_events(db, pending.id, "ShipmentCancelled"))[0].reason == "order withdrawn"

    moving = await dispatch(stub, await create(stub))
    recalled = await stub.CancelShipment(api.CancelShipmentRequest(id=moving.id, reason="recalled"))
    assert recalled.shipment.status == C  # only before delivery: in transit is still before

    back = await deliver(stub, await dispatch(stub, await create(stub)))
    returned = await stub.MarkShipmentReturned(api.MarkShipmentReturnedRequest(id=back.id, reason="refused"))
    assert returned.shipment.status == R
    event = (await outbox_events(db, back.id, "ShipmentReturned"))[0]
    assert (event.previous_status, event.reason) == (D, "refused")
    bounced = await dispatch(stub, await create(stub))
    await stub.MarkShipmentReturned(api.MarkShipmentReturnedRequest(id=bounced.id, reason="bad address"))
    assert (await outbox_events(db, bounced.id, "ShipmentReturned"))[0].previous_status == T

    gone = await dispatch(stub, await create(stub))
    lost = (await stub.MarkShipmentLost(api.MarkShipmentLostRequest(id=gone.id, notes="claim 42"))).shipment
    assert (lost.status, lost.version) == (L, gone.version + 1)
    assert [e.status for e in await history(stub, gone.id)] == [
        pb.TRACKING_STATUS_CREATED,
        pb.TRACKING_STATUS_DISPATCHED,
        pb.TRACKING_STATUS_LOST,
    ]
    event_lost = (await outbox_events(db, gone.id, "ShipmentLost"))[0]
    assert (event_lost.notes, event_lost.tracking_number) == ("claim 42", gone.tracking_number)


async def _in_state(stub: Stub, status: int) -> pb.Shipment:
    s = await create(stub)
    if status == P:
        return s
    if status == C:
        return (await stub.CancelShipment(api.CancelShipmentRequest(id=s.id, reason="x"))).shipment
    s = await dispatch(stub, s)
    if status == T:
        return s
    if status == L:
        return (await stub.MarkShipmentLost(api.MarkShipmentLostRequest(id=s.id))).shipment
    s = await deliver(stub, s)
    if status == D:
        return s
    return (await stub.MarkShipmentReturned(api.MarkShipmentReturnedRequest(id=s.id, reason="x"))).shipment


Verb = Callable[[Stub, str], Awaitable[Any]]
VERBS: dict[str, Verb] = {
    "dispatch": lambda stub, i: stub.DispatchShipment(api.DispatchShipmentRequest(id=i, tracking_number=f"N{tag()}")),
    "deliver": lambda stub, i: stub.DeliverShipment(api.DeliverShipmentRequest(id=i)),
    "cancel": lambda stub, i: stub.CancelShipment(api.CancelShipmentRequest(id=i, reason="x")),
    "return": lambda stub, i: stub.MarkShipmentReturned(api.MarkShipmentReturnedRequest(id=i, reason="x")),
    "lose": lambda stub, i: stub.MarkShipmentLost(api.MarkShipmentLostRequest(id=i)),
}
ALLOWED = {
    P: {"dispatch", "cancel"},
    T: {"deliver", "cancel", "return", "lose"},
    D: {"return"},
    C: set(),
    R: set(),
    L: set(),
}


async def test_forbidden_transitions_write_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    tried = 0
    for status, allowed in ALLOWED.items():
        s = await _in_state(stub, status)
        assert s.status == status
        for name, verb in VERBS.items():
            if name in allowed:
                continue
            await rejected(db, lambda verb=verb, s=s: verb(stub, s.id), Code.FAILED_PRECONDITION, shipments=(s.id,))
            tried += 1
    assert tried == 23


async def test_lifecycle_bad_input(stub: Stub, db: asyncpg.Connection) -> None:
    s = await create(stub)
    keep = (s.id,)
    no_reason = api.CancelShipmentRequest(id=s.id, reason="  ")
    await rejected(
        db, lambda: stub.CancelShipment(no_reason), Code.INVALID_ARGUMENT, fields=("reason",), shipments=keep
    )
    await rejected(
        db,
        lambda: stub.DispatchShipment(api.DispatchShipmentRequest(id=s.id)),
        Code.INVALID_ARGUMENT,
        fields=("tracking_number",),
        shipments=keep,
    )
    future = api.DispatchShipmentRequest(id=s.id, tracking_number=f"N{tag()}")
    future.dispatched_at.CopyFrom(ts(datetime.now(UTC) + timedelta(days=1)))
    await rejected(
        db, lambda: stub.DispatchShipment(future), Code.INVALID_ARGUMENT, fields=("dispatched_at",), shipments=keep
    )
    early = api.DispatchShipmentRequest(id=s.id, tracking_number=f"N{tag()}", estimated_delivery_date=day(2025, 3, 1))
    early.dispatched_at.CopyFrom(ts(at(2025, 3, 3)))
    await rejected(
        db,
        lambda: stub.DispatchShipment(early),
        Code.INVALID_ARGUMENT,
        fields=("estimated_delivery_date",),
        shipments=keep,
    )
    stale = api.DispatchShipmentRequest(id=s.id, tracking_number=f"N{tag()}", version=s.version + 1)
    await rejected(db, lambda: stub.DispatchShipment(stale), Code.ABORTED, shipments=keep)
    unknown = api.DeliverShipmentRequest(id=new_id())
    await rejected(db, lambda: stub.DeliverShipment(unknown), Code.NOT_FOUND)

    sent = await dispatch(stub, s, at(2025, 3, 3, 8))
    before_dispatch = api.DeliverShipmentRequest(id=s.id)
    before_dispatch.delivered_at.CopyFrom(ts(at(2025, 3, 3, 7)))
    await rejected(
        db,
        lambda: stub.DeliverShipment(before_dispatch),
        Code.INVALID_ARGUMENT,
        fields=("delivered_at",),
        shipments=keep,
    )
    assert (await get(stub, s.id)) == sent
