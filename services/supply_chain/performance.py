"""Carrier performance as plain Python: what one delivery changes in a carrier's day. No I/O.

One row per carrier and day (carrier_performance, UNIQUE(carrier, metric_date)), the day being
the delivery's actual_delivery_date (UTC):
- total_shipments: shipments delivered that day;
- on_time_deliveries / late_deliveries: of those, delivered on or before / after their estimated
  delivery date. A shipment without an estimate is neither (so on_time + late <= total);
- average_delivery_days: running average over the day's deliveries of the days from the dispatch
  date to the delivery date, rounded half-up to 2 places after each delivery.
The summary over a range weights each day's average by its deliveries; on_time_rate is
on_time / total (4 places), unset when nothing was delivered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from services.supply_chain.domain import utc_date

DAYS_CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")
MAX_AVERAGE_DAYS = Decimal("999.99")  # NUMERIC(5, 2)


@dataclass(frozen=True)
class Delivery:
    """The facts of one delivery that the metrics use."""

    actual_delivery_date: date
    delivery_days: int
    on_time: bool | None  # None: no estimated date to compare with


def delivery(dispatched_at: datetime, delivered_at: datetime, estimated: date | None) -> Delivery:
    actual = utc_date(delivered_at)
    return Delivery(
        actual_delivery_date=actual,
        delivery_days=max((actual - utc_date(dispatched_at)).days, 0),
        on_time=None if estimated is None else actual <= estimated,
    )


@dataclass(frozen=True)
class Metrics:
    total_shipments: int = 0
    on_time_deliveries: int = 0
    late_deliveries: int = 0
    average_delivery_days: Decimal | None = None


@dataclass(frozen=True)
class Summary:
    total_shipments: int
    on_time_deliveries: int
    late_deliveries: int
    on_time_rate: Decimal | None
    average_delivery_days: Decimal | None


def add(metrics: Metrics, d: Delivery) -> Metrics:
    n = metrics.total_shipments
    previous = metrics.average_delivery_days if metrics.average_delivery_days is not None else Decimal(0)
    average = ((previous * n + d.delivery_days) / (n + 1)).quantize(DAYS_CENT, rounding=ROUND_HALF_UP)
    return Metrics(
        total_shipments=n + 1,
        on_time_deliveries=metrics.on_time_deliveries + (1 if d.on_time is True else 0),
        late_deliveries=metrics.late_deliveries + (1 if d.on_time is False else 0),
        average_delivery_days=min(average, MAX_AVERAGE_DAYS),
    )


def summarize(rows: Iterable[Metrics]) -> Summary:
    items = list(rows)
    total = sum(m.total_shipments for m in items)
    on_time = sum(m.on_time_deliveries for m in items)
    weighted = sum(
        (m.average_delivery_days * m.total_shipments for m in items if m.average_delivery_days is not None),
        Decimal(0),
    )
    return Summary(
        total_shipments=total,
        on_time_deliveries=on_time,
        late_deliveries=sum(m.late_deliveries for m in items),
        on_time_rate=(Decimal(on_time) / total).quantize(RATE_PLACES, rounding=ROUND_HALF_UP) if total else None,
        average_delivery_days=(weighted / total).quantize(DAYS_CENT, rounding=ROUND_HALF_UP) if total else None,
    )
