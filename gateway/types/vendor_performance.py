"""VendorPerformance (erp.procurement.v1.VendorPerformance): a vendor's delivery record at a date."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry
from erp.procurement.v1 import procurement_pb2 as pb

from gateway.wire import amount_of, date_of, datetime_of


@strawberry.type(description="A vendor's delivery record up to `metricDate`.")
class VendorPerformance:
    id: strawberry.ID
    metric_date: date
    total_orders: int
    on_time_deliveries: int
    late_deliveries: int
    quality_issues: int
    average_delivery_days: Decimal
    create_time: datetime | None

    @classmethod
    def from_proto(cls, m: pb.VendorPerformance) -> VendorPerformance:
        return cls(
            id=strawberry.ID(m.id),
            metric_date=date_of(m.metric_date) or date.min,
            total_orders=m.total_orders,
            on_time_deliveries=m.on_time_deliveries,
            late_deliveries=m.late_deliveries,
            quality_issues=m.quality_issues,
            average_delivery_days=amount_of(m.average_delivery_days),
            create_time=datetime_of(m, "create_time"),
        )
