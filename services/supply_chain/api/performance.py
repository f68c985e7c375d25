"""GetCarrierPerformance: a carrier's daily delivery metrics over a date range, and their totals."""

from __future__ import annotations

from typing import Any

from erp.supply_chain.v1 import supply_chain_pb2 as pb
from erp.supply_chain.v1 import supply_chain_service_pb2 as api

from services.runtime.convert import date_from_pb, date_to_pb, decimal_to_pb
from services.runtime.errors import Validator
from services.supply_chain import domain, mapping, performance, store
from services.supply_chain.api.base import ApiBase
from services.supply_chain.domain import Status


class PerformanceApi(ApiBase):
    async def GetCarrierPerformance(
        self, request: api.GetCarrierPerformanceRequest, context_: Any
    ) -> api.GetCarrierPerformanceResponse:
        """Days come from carrier_performance (booked at delivery); returned and lost shipments are
        those of the carrier whose status became RETURNED / LOST during the range (UTC days)."""
        v = Validator()
        carrier = request.carrier.strip()
        v.require(carrier, "carrier")
        v.max_len(carrier, "carrier", domain.TEXT_LIMITS["carrier"])
        start = v.collect(lambda: date_from_pb(request.start_date, "start_date"))
        end = v.collect(lambda: date_from_pb(request.end_date, "end_date"))
        v.check(start is None or end is None or start <= end, "end_date", "must not be before the start date")
        v.raise_if_any()
        assert start is not None and end is not None
        async with self.db.read() as s:
            days = await store.carrier_days(s, carrier, start, end)
            finals = await store.final_counts(s, carrier, start, end)
        totals = performance.summarize(mapping.metrics_of(d) for d in days)
        summary = pb.CarrierPerformanceSummary(
            carrier=carrier,
            start_date=date_to_pb(start),
            end_date=date_to_pb(end),
            total_shipments=totals.total_shipments,
            on_time_deliveries=totals.on_time_deliveries,
            late_deliveries=totals.late_deliveries,
            on_time_rate=decimal_to_pb(totals.on_time_rate),
            average_delivery_days=decimal_to_pb(totals.average_delivery_days),
            returned_shipments=finals.get(Status.RETURNED.value, 0),
            lost_shipments=finals.get(Status.LOST.value, 0),
        )
        return api.GetCarrierPerformanceResponse(summary=summary, daily=[mapping.performance_to_pb(d) for d in days])
