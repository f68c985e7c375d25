"""Carrier performance on fixed dates: booked on the delivery day in the delivery's transaction,
on time vs late against the estimate, running average of delivery days, range totals."""

from __future__ import annotations

from datetime import datetime

import asyncpg
from erp.supply_chain.v1 import supply_chain_pb2 as pb
from erp.supply_chain.v1 import supply_chain_service_pb2 as api
from google.type.date_pb2 import Date

from tests.supply_chain.helpers import (
    Code,
    Stub,
    at,
    create,
    day,
    deliver,
    dispatch,
    rejected,
    tag,
    track,
)


async def _delivered(stub: Stub, carrier: str, estimate: Date | None, sent: datetime, done: datetime) -> pb.Shipment:
    s = await create(stub, carrier=carrier, estimated_delivery_date=estimate)
    return await deliver(stub, await dispatch(stub, s, sent), done)


async def _report(stub: Stub, carrier: str, start: Date, end: Date) -> api.GetCarrierPerformanceResponse:
    return await stub.GetCarrierPerformance(
        api.GetCarrierPerformanceRequest(carrier=carrier, start_date=start, end_date=end)
    )


def _day(row: pb.CarrierPerformance) -> tuple[int, int, int, int, str]:
    return (
        row.metric_date.day,
        row.total_shipments,
        row.on_time_deliveries,
        row.late_deliveries,
        row.average_delivery_days.value,
    )


async def test_daily_metrics_and_range_totals(stub: Stub, db: asyncpg.Connection) -> None:
    carrier = f"Carrier {tag()}"
    # 2025-03-06: on time in 3 days, late in 4 days, no estimate (neither) in 1 day.
    await _delivered(stub, carrier, day(2025, 3, 7), at(2025, 3, 3, 8), at(2025, 3, 6, 15))
    await _delivered(stub, carrier, day(2025, 3, 5), at(2025, 3, 2, 8), at(2025, 3, 6, 11))
    await _delivered(stub, carrier, None, at(2025, 3, 5, 20), at(2025, 3, 6, 23, 30))
    # 2025-03-09: on time (on the estimated day) in 1 day; later returned.
    returned = await _delivered(stub, carrier, day(2025, 3, 9), at(2025, 3, 8, 8), at(2025, 3, 9, 10))
    await track(stub, returned.id, pb.TRACKING_STATUS_RETURNED, at(2025, 3, 12, 9))
    # Lost on 2025-03-20, never delivered.
    lost = await dispatch(stub, await create(stub, carrier=carrier), at(2025, 3, 18, 8))
    await track(stub, lost.id, pb.TRACKING_STATUS_LOST, at(2025, 3, 20, 9))

    march = await _report(stub, carrier, day(2025, 3, 1), day(2025, 3, 31))
    # Running average on 03-06: 3 -> (3 + 4) / 2 = 3.50 -> (3.50 * 2 + 1) / 3 = 2.67.
    assert [_day(d) for d in march.daily] == [(6, 3, 1, 1, "2.67"), (9, 1, 1, 0, "1.00")]
    s = march.summary
    assert (s.carrier, s.total_shipments, s.on_time_deliveries, s.late_deliveries) == (carrier, 4, 2, 1)
    # Weighted by deliveries: (2.67 * 3 + 1.00) / 4 = 2.2525 -> 2.25; on time 2 of 4.
    assert (s.on_time_rate.value, s.average_delivery_days.value) == ("0.5000", "2.25")
    assert (s.returned_shipments, s.lost_shipments) == (1, 1)
    assert (s.start_date.day, s.end_date.day) == (1, 31)

    early = await _report(stub, carrier, day(2025, 3, 7), day(2025, 3, 10))
    assert [_day(d) for d in early.daily] == [(9, 1, 1, 0, "1.00")]
    assert (early.summary.on_time_rate.value, early.summary.returned_shipments, early.summary.lost_shipments) == (
        "1.0000",
        0,
        0,
    )
    rows = await db.fetch("SELECT metric_date FROM carrier_performance WHERE carrier = $1", carrier)
    assert len(rows) == 2  # one row per carrier and day


async def test_no_deliveries_and_bad_ranges(stub: Stub, db: asyncpg.Connection) -> None:
    empty = await _report(stub, f"Nobody {tag()}", day(2025, 1, 1), day(2025, 12, 31))
    assert list(empty.daily) == []
    assert (empty.summary.total_shipments, empty.summary.on_time_rate.value) == (0, "")
    assert not empty.summary.HasField("average_delivery_days")
    backwards = api.GetCarrierPerformanceRequest(carrier="UPS", start_date=day(2025, 3, 2), end_date=day(2025, 3, 1))
    await rejected(db, lambda: stub.GetCarrierPerformance(backwards), Code.INVALID_ARGUMENT, fields=("end_date",))
    missing = api.GetCarrierPerformanceRequest(carrier=" ")
    await rejected(
        db,
        lambda: stub.GetCarrierPerformance(missing),
        Code.INVALID_ARGUMENT,
        fields=("carrier", "start_date", "end_date"),
    )
