"""Carrier updates arrive in any order and duplicated: duplicates are stored once, a late update
joins the history without moving the status backwards, a reported delivery delivers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
from erp.supply_chain.v1 import supply_chain_pb2 as pb
from erp.supply_chain.v1 import supply_chain_service_pb2 as api

from tests.supply_chain.helpers import (
    Code,
    Stub,
    at,
    create,
    day,
    dispatch,
    event_names,
    get,
    history,
    new_id,
    nothing_written,
    outbox_events,
    rejected,
    track,
    ts,
)

IN_TRANSIT = pb.TRACKING_STATUS_IN_TRANSIT
OUT_FOR_DELIVERY = pb.TRACKING_STATUS_OUT_FOR_DELIVERY
DELIVERED = pb.TRACKING_STATUS_DELIVERED
RETURNED = pb.TRACKING_STATUS_RETURNED
LOST = pb.TRACKING_STATUS_LOST


async def _moving(stub: Stub) -> pb.Shipment:
    return await dispatch(stub, await create(stub, estimated_delivery_date=day(2025, 3, 7)), at(2025, 3, 3, 8))


async def test_scans_join_the_history_without_changing_the_shipment(stub: Stub, db: asyncpg.Connection) -> None:
    s = await _moving(stub)
    first = await track(stub, s.id, IN_TRANSIT, at(2025, 3, 4, 2), "Memphis, TN", "departed hub")
    second = await track(stub, s.id, OUT_FOR_DELIVERY, at(2025, 3, 5, 7), "Austin, TX")
    assert (first.status, first.location, first.notes) == (IN_TRANSIT, "Memphis, TN", "departed hub")
    assert await get(stub, s.id) == s  # same status, same version
    assert [e.status for e in await history(stub, s.id)] == [
        pb.TRACKING_STATUS_DISPATCHED,
        IN_TRANSIT,
        OUT_FOR_DELIVERY,
        pb.TRACKING_STATUS_CREATED,
    ]
    updates = await outbox_events(db, s.id, "ShipmentTrackingUpdated")
    assert [(u.tracking_event_id, u.location) for u in updates] == [
        (first.id, "Memphis, TN"),
        (second.id, "Austin, TX"),
    ]


async def test_duplicated_updates_are_recorded_once(stub: Stub, db: asyncpg.Connection) -> None:
    s = await _moving(stub)
    first = await track(stub, s.id, IN_TRANSIT, at(2025, 3, 4, 2), "Memphis, TN", "scan")
    async with nothing_written(db, shipments=(s.id,)):
        again = await track(stub, s.id, IN_TRANSIT, at(2025, 3, 4, 2), "Memphis, TN", "scan, resent")
    assert again == first
    no_place = await track(stub, s.id, IN_TRANSIT, at(2025, 3, 4, 5))
    assert await track(stub, s.id, IN_TRANSIT, at(2025, 3, 4, 5)) == no_place  # no location twice: still one
    elsewhere = await track(stub, s.id, IN_TRANSIT, at(2025, 3, 4, 2), "Nashville, TN")
    assert elsewhere.id != first.id  # another place is another scan
    assert len(await history(stub, s.id)) == 2 + 3
    assert len(await outbox_events(db, s.id, "ShipmentTrackingUpdated")) == 3


async def test_out_of_order_updates_never_move_the_status_backwards(stub: Stub, db: asyncpg.Connection) -> None:
    s = await _moving(stub)
    # The delivery scan arrives first and delivers the shipment.
    await track(stub, s.id, DELIVERED, at(2025, 3, 6, 15), "Austin, TX")
    delivered = await get(stub, s.id)
    assert delivered.status == pb.SHIPMENT_STATUS_DELIVERED
    assert delivered.delivered_at.ToDatetime(tzinfo=UTC) == at(2025, 3, 6, 15)
    # Older updates arrive late: history only.
    await track(stub, s.id, OUT_FOR_DELIVERY, at(2025, 3, 6, 9), "Austin, TX")
    await track(stub, s.id, LOST, at(2025, 3, 6, 10), "Austin, TX")
    await track(stub, s.id, IN_TRANSIT, at(2025, 3, 7, 1), "Austin, TX")  # newer, but a scan
    assert await get(stub, s.id) == delivered
    # A newer return is a real change; an older delivery after it is not.
    await track(stub, s.id, RETURNED, at(2025, 3, 8, 9), "Austin, TX", "refused")
    await track(stub, s.id, DELIVERED, at(2025, 3, 8, 8), "Austin, TX")
    final = await get(stub, s.id)
    assert (final.status, final.version) == (pb.SHIPMENT_STATUS_RETURNED, delivered.version + 1)
    assert [e.status for e in await history(stub, s.id)][1:] == [
        OUT_FOR_DELIVERY,
        LOST,
        DELIVERED,
        IN_TRANSIT,
        DELIVERED,
        RETURNED,
        pb.TRACKING_STATUS_CREATED,
    ]
    names = [n for n in await event_names(db, s.id) if n != "ShipmentTrackingUpdated"]
    assert names == ["ShipmentCreated", "ShipmentDispatched", "ShipmentDelivered", "ShipmentReturned"]
    assert (await outbox_events(db, s.id, "ShipmentReturned"))[0].reason == "refused"


async def test_a_late_delivery_after_a_loss_stays_lost(stub: Stub) -> None:
    s = await _moving(stub)
    await track(stub, s.id, LOST, at(2025, 3, 6, 10))
    await track(stub, s.id, DELIVERED, at(2025, 3, 6, 9))
    await track(stub, s.id, DELIVERED, at(2025, 3, 6, 11))  # newer, but lost is final
    assert (await get(stub, s.id)).status == pb.SHIPMENT_STATUS_LOST


async def test_a_duplicated_delivery_delivers_once(stub: Stub, db: asyncpg.Connection) -> None:
    s = await _moving(stub)
    await track(stub, s.id, DELIVERED, at(2025, 3, 6, 15), "Austin, TX")
    await track(stub, s.id, DELIVERED, at(2025, 3, 6, 15), "Austin, TX")
    assert len(await outbox_events(db, s.id, "ShipmentDelivered")) == 1
    metrics = await db.fetchrow("SELECT * FROM carrier_performance WHERE carrier = $1", s.carrier)
    assert (metrics["total_shipments"], metrics["on_time_deliveries"]) == (1, 1)


async def test_updates_need_a_dispatched_shipment_and_good_input(stub: Stub, db: asyncpg.Connection) -> None:
    pending = await create(stub)
    req = api.RecordTrackingEventRequest(shipment_id=pending.id, status=IN_TRANSIT)
    await rejected(db, lambda: stub.RecordTrackingEvent(req), Code.FAILED_PRECONDITION, shipments=(pending.id,))
    s = await _moving(stub)
    for status in (pb.TRACKING_STATUS_UNSPECIFIED, pb.TRACKING_STATUS_CREATED, pb.TRACKING_STATUS_CANCELLED, 77):
        bad = api.RecordTrackingEventRequest(shipment_id=s.id, status=status)
        await rejected(db, lambda bad=bad: stub.RecordTrackingEvent(bad), Code.INVALID_ARGUMENT, fields=("status",))
    future = api.RecordTrackingEventRequest(shipment_id=s.id, status=IN_TRANSIT, location="x" * 201)
    future.event_time.CopyFrom(ts(datetime.now(UTC) + timedelta(hours=1)))
    await rejected(
        db, lambda: stub.RecordTrackingEvent(future), Code.INVALID_ARGUMENT, fields=("event_time", "location")
    )
    unknown = api.RecordTrackingEventRequest(shipment_id=new_id(), status=IN_TRANSIT)
    await rejected(db, lambda: stub.RecordTrackingEvent(unknown), Code.NOT_FOUND)
    listing = api.ListTrackingHistoryRequest(shipment_id=new_id())
    await rejected(db, lambda: stub.ListTrackingHistory(listing), Code.NOT_FOUND)


async def test_history_pages_in_event_time_order(stub: Stub) -> None:
    s = await _moving(stub)
    for hour in (5, 1, 3):
        await track(stub, s.id, IN_TRANSIT, at(2025, 3, 4, hour), f"hub {hour}")
    seen: list[str] = []
    token = ""
    while True:
        page = await stub.ListTrackingHistory(
            api.ListTrackingHistoryRequest(shipment_id=s.id, page_size=2, page_token=token)
        )
        assert page.total_size == 5
        seen.extend(e.location for e in page.tracking_events)
        token = page.next_page_token
        if not token:
            break
    assert seen == ["Memphis", "hub 1", "hub 3", "hub 5", "Memphis"]


async def test_history_of_several_shipments_in_one_call(stub: Stub, db: asyncpg.Connection) -> None:
    one, two = await _moving(stub), await _moving(stub)
    await track(stub, one.id, IN_TRANSIT, at(2025, 3, 4, 2), "hub one")
    await track(stub, two.id, IN_TRANSIT, at(2025, 3, 4, 1), "hub two")
    alone = {e.id for e in await history(stub, one.id)} | {e.id for e in await history(stub, two.id)}
    both = await stub.ListTrackingHistory(api.ListTrackingHistoryRequest(shipment_ids=[one.id, two.id, new_id()]))
    assert {e.id for e in both.tracking_events} == alone and both.total_size == len(alone)
    times = [(e.event_time.seconds, e.event_time.nanos) for e in both.tracking_events]
    assert times == sorted(times)
    assert {e.shipment_id for e in both.tracking_events if e.location == "hub two"} == {two.id}
    for request, field in [
        (api.ListTrackingHistoryRequest(), "shipment_id"),
        (api.ListTrackingHistoryRequest(shipment_ids=[one.id, "x"]), "shipment_ids"),
    ]:
        await rejected(db, lambda r=request: stub.ListTrackingHistory(r), Code.INVALID_ARGUMENT, fields=(field,))
