"""Carrier performance (erp.supply_chain.v1.CarrierPerformance and CarrierPerformanceSummary): a
carrier's delivery record over a date range, with the daily metrics."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry
from erp.supply_chain.v1 import supply_chain_pb2 as pb
from erp.supply_chain.v1 import supply_chain_service_pb2 as api

from gateway.wire import amount_of, date_of, datetime_of, decimal_of


@strawberry.type(description="One day's delivery metrics of a carrier.")
class CarrierPerformance:
    id: strawberry.ID
    carrier: str
    metric_date: date
    total_shipments: int = strawberry.field(description="Shipments delivered that day.")
    on_time_deliveries: int
    late_deliveries: int
    average_delivery_days: Decimal = strawberry.field(description="From dispatch to delivery.")
    create_time: datetime | None

    @classmethod
    def from_proto(cls, m: pb.CarrierPerformance) -> CarrierPerformance:
        return cls(
            id=strawberry.ID(m.id),
            carrier=m.carrier,
            metric_date=date_of(m.metric_date) or date.min,
            total_shipments=m.total_shipments,
            on_time_deliveries=m.on_time_deliveries,
            late_deliveries=m.late_deliveries,
            average_delivery_days=amount_of(m.average_delivery_days),
            create_time=datetime_of(m, "create_time"),
        )


@strawberry.type(description="A carrier's totals over a date range.")
class CarrierPerformanceSummary:
    carrier: str
    start_date: date | None
    end_date: date | None
    total_shipments: int = strawberry.field(description="Shipments delivered in the range.")
    on_time_deliveries: int
    late_deliveries: int
    on_time_rate: Decimal | None = strawberry.field(description="A fraction between 0 and 1; null when none delivered.")
    average_delivery_days: Decimal
    returned_shipments: int
    lost_shipments: int

    @classmethod
    def from_proto(cls, m: pb.CarrierPerformanceSummary) -> CarrierPerformanceSummary:
        return cls(
            carrier=m.carrier,
            start_date=date_of(m.start_date),
            end_date=date_of(m.end_date),
            total_shipments=m.total_shipments,
            on_time_deliveries=m.on_time_deliveries,
            late_deliveries=m.late_deliveries,
            on_time_rate=decimal_of(m.on_time_rate),
            average_delivery_days=amount_of(m.average_delivery_days),
            returned_shipments=m.returned_shipments,
            lost_shipments=m.lost_shipments,
        )


@strawberry.type(description="A carrier's delivery performance over a date range.")
class CarrierPerformanceReport:
    summary: CarrierPerformanceSummary
    daily: list[CarrierPerformance] = strawberry.field(description="The daily metrics, oldest first.")

    @classmethod
    def from_proto(cls, m: api.GetCarrierPerformanceResponse) -> CarrierPerformanceReport:
        return cls(
            summary=CarrierPerformanceSummary.from_proto(m.summary),
            daily=[CarrierPerformance.from_proto(d) for d in m.daily],
        )
