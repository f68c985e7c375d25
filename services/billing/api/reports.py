"""Queries over many invoices: ListInvoiceSummaries (the CQRS read model, invoice_summary) and
GetAgingReport (amounts due by days past due, per customer and in total)."""

from __future__ import annotations

from typing import Any

from erp.billing.v1 import billing_service_pb2 as api
from sqlalchemy import func, select

from services.billing import aging, domain, mapping, store
from services.billing.api.base import ApiBase
from services.billing.tables import Customer, Invoice, InvoiceSummaryRow
from services.runtime.convert import date_from_pb, uuid_from_str, uuids_from_strs
from services.runtime.errors import Validator
from services.runtime.repository import get_or_404, list_page


class ReportsApi(ApiBase):
    async def ListInvoiceSummaries(
        self, request: api.ListInvoiceSummariesRequest, context_: Any
    ) -> api.ListInvoiceSummariesResponse:
        v = Validator()
        customers = v.collect(lambda: uuids_from_strs(list(request.customer_ids), "customer_ids")) or []
        statuses = v.enum_values(request.statuses, mapping.INVOICE_STATUS_FROM_PB, "statuses")
        v.raise_if_any()
        today = self.clock.today()
        stmt = select(InvoiceSummaryRow)
        if customers:
            stmt = stmt.where(InvoiceSummaryRow.customer_id.in_(customers))
        if statuses:
            effective = store.effective_status_sql(InvoiceSummaryRow.status, InvoiceSummaryRow.due_date, today)
            stmt = stmt.where(effective.in_([s.value for s in statuses]))
        filters = (sorted(map(str, customers)), sorted(s.value for s in statuses), today if statuses else None)
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [InvoiceSummaryRow.invoice_number],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=filters,
                descending=True,
            )
        return api.ListInvoiceSummariesResponse(
            invoice_summaries=[mapping.summary_to_pb(r, today) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def GetAgingReport(self, request: api.GetAgingReportRequest, context_: Any) -> api.GetAgingReportResponse:
        v = Validator()
        as_of = v.collect(lambda: date_from_pb(request.as_of_date, "as_of_date", required=False))
        customer_id = v.collect(lambda: uuid_from_str(request.customer_id, "customer_id", required=False))
        v.raise_if_any()
        as_of = as_of or self.clock.today()
        # Today's amounts due of invoices issued on or before the as-of date, grouped by customer and
        # due date in SQL (few rows), bucketed in Python (aging.py).
        stmt = (
            select(
                Invoice.customer_id,
                Customer.name,
                Invoice.due_date,
                func.sum(Invoice.amount_due),
                func.count(),
            )
            .join(Customer, Customer.id == Invoice.customer_id)
            .where(
                Invoice.status.in_(sorted(domain.OPEN_STATUSES)),
                Invoice.amount_due > 0,
                Invoice.invoice_date <= as_of,
            )
            .group_by(Invoice.customer_id, Customer.name, Invoice.due_date)
        )
        async with self.db.read() as s:
            if customer_id is not None:
                await get_or_404(s, Customer, customer_id, "customer")
                stmt = stmt.where(Invoice.customer_id == customer_id)
            result = await s.execute(stmt)
            items = [
                aging.OpenItem(customer_id=c, customer_name=name, due_date=due, amount_due=total, invoice_count=n)
                for c, name, due, total, n in result
            ]
        report = aging.age(items, as_of)
        return api.GetAgingReportResponse(aging_report=mapping.aging_to_pb(report))
