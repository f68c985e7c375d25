"""ListVendorPerformance: the daily vendor metrics kept from receipts, newest day first."""

from __future__ import annotations

from typing import Any

from erp.procurement.v1 import procurement_service_pb2 as api
from sqlalchemy import select

from services.procurement import mapping
from services.procurement.api.base import ApiBase, check_range
from services.procurement.api.vendors import VENDOR
from services.procurement.tables import Vendor, VendorPerformance
from services.runtime.convert import date_from_pb, ids_filter, uuid_from_str
from services.runtime.errors import Validator
from services.runtime.repository import get_or_404, list_page


class PerformanceApi(ApiBase):
    async def ListVendorPerformance(
        self, request: api.ListVendorPerformanceRequest, context_: Any
    ) -> api.ListVendorPerformanceResponse:
        v = Validator()
        vendor_id = v.collect(lambda: uuid_from_str(request.vendor_id, "vendor_id", required=False))
        vendors = v.collect(lambda: ids_filter(request.vendor_id, request.vendor_ids, "vendor_id", "vendor_ids")) or []
        start = v.collect(lambda: date_from_pb(request.start_date, "start_date", required=False))
        end = v.collect(lambda: date_from_pb(request.end_date, "end_date", required=False))
        v.raise_if_any()
        check_range(start, end, "end_date")
        stmt = select(VendorPerformance)
        if vendors:
            stmt = stmt.where(VendorPerformance.vendor_id.in_(vendors))
        if start is not None:
            stmt = stmt.where(VendorPerformance.metric_date >= start)
        if end is not None:
            stmt = stmt.where(VendorPerformance.metric_date <= end)
        async with self.db.read() as s:
            if vendor_id is not None:
                await get_or_404(s, Vendor, vendor_id, VENDOR)
            page = await list_page(
                s,
                stmt,
                [VendorPerformance.metric_date, VendorPerformance.vendor_id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=([str(i) for i in vendors], str(start), str(end)),
                descending=True,
            )
        return api.ListVendorPerformanceResponse(
            vendor_performance=[mapping.performance_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )
