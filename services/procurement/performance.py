"""Vendor performance as plain Python: what one receipt changes in the daily metrics. No I/O.

A row holds one vendor's metrics for one day (vendor_performance, UNIQUE(vendor_id, metric_date)):
- total_orders: orders counted on that day, each order once, on the date of its first receipt;
- on_time_deliveries / late_deliveries: of those orders, the ones completed (status received)
  on or before / after their expected delivery date (no expected date counts as on time). The
  completion is booked on the row where the order was counted, so on_time + late <= total_orders
  holds on every row (a database check);
- average_delivery_days: running average, over those completed orders, of the days from the
  order date to the completing receipt;
- quality_issues: receipts dated that day with at least one rejected unit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

DAYS_CENT = Decimal("0.01")
MAX_AVERAGE_DAYS = Decimal("999.99")  # NUMERIC(5, 2)


@dataclass(frozen=True)
class Metrics:
    total_orders: int = 0
    on_time_deliveries: int = 0
    late_deliveries: int = 0
    quality_issues: int = 0
    average_delivery_days: Decimal | None = None

    @property
    def completed(self) -> int:
        return self.on_time_deliveries + self.late_deliveries


@dataclass(frozen=True)
class Delta:
    """What one receipt adds to one day's row."""

    new_orders: int = 0
    on_time: int = 0
    late: int = 0
    quality_issues: int = 0
    delivery_days: int | None = None  # set with on_time/late: the completed order's delivery days


@dataclass(frozen=True)
class Summary:
    total_orders: int
    on_time_deliveries: int
    late_deliveries: int
    quality_issues: int
    average_delivery_days: Decimal | None
    on_time_rate: Decimal | None  # on time / completed, 0..1 (4 places); None when nothing completed


def receipt_deltas(
    *,
    receipt_date: date,
    first_receipt_date: date | None,
    order_date: date,
    expected_delivery_date: date | None,
    completes_order: bool,
    has_rejections: bool,
) -> dict[date, Delta]:
    """Per day, what a receipt changes; `first_receipt_date` is None when this is the first receipt."""
    counted_on = first_receipt_date or receipt_date
    out: dict[date, Delta] = {}
    if first_receipt_date is None or has_rejections:
        out[receipt_date] = Delta(
            new_orders=1 if first_receipt_date is None else 0,
            quality_issues=1 if has_rejections else 0,
        )
    if completes_order:
        on_time = expected_delivery_date is None or receipt_date <= expected_delivery_date
        base = out.get(counted_on, Delta())
        out[counted_on] = Delta(
            new_orders=base.new_orders,
            quality_issues=base.quality_issues,
            on_time=1 if on_time else 0,
            late=0 if on_time else 1,
            delivery_days=(receipt_date - order_date).days,
        )
    return out


def apply(metrics: Metrics, delta: Delta) -> Metrics:
    average = metrics.average_delivery_days
    if delta.delivery_days is not None:
        n = metrics.completed
        previous = average if average is not None else Decimal(0)
        average = min(
            ((previous * n + delta.delivery_days) / (n + 1)).quantize(DAYS_CENT, rounding=ROUND_HALF_UP),
            MAX_AVERAGE_DAYS,
        )
    return Metrics(
        total_orders=metrics.total_orders + delta.new_orders,
        on_time_deliveries=metrics.on_time_deliveries + delta.on_time,
        late_deliveries=metrics.late_deliveries + delta.late,
        quality_issues=metrics.quality_issues + delta.quality_issues,
        average_delivery_days=average,
    )


def summarize(rows: Iterable[Metrics]) -> Summary:
    """Totals over many days; the average is weighted by each day's completed orders."""
    items = list(rows)
    completed = sum(m.completed for m in items)
    weighted = sum(
        (m.average_delivery_days * m.completed for m in items if m.average_delivery_days is not None),
        Decimal(0),
    )
    on_time = sum(m.on_time_deliveries for m in items)
    return Summary(
        total_orders=sum(m.total_orders for m in items),
        on_time_deliveries=on_time,
        late_deliveries=sum(m.late_deliveries for m in items),
        quality_issues=sum(m.quality_issues for m in items),
        average_delivery_days=(weighted / completed).quantize(DAYS_CENT, rounding=ROUND_HALF_UP) if completed else None,
        on_time_rate=(Decimal(on_time) / completed).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        if completed
        else None,
    )
