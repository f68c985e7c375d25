"""Invoice reads: get, batch get, list (statuses as readers see them: overdue at once)."""

from __future__ import annotations

from typing import Any

from erp.billing.v1 import billing_service_pb2 as api
from sqlalchemy import select

from services.billing import mapping, store
from services.billing.api.base import ApiBase, date_range, require_id
from services.billing.tables import Invoice
from services.runtime.convert import uuids_from_strs
from services.runtime.errors import Validator
from services.runtime.repository import batch_get, get_or_404, list_page


class InvoicesApi(ApiBase):
    async def GetInvoice(self, request: api.GetInvoiceRequest, context_: Any) -> api.GetInvoiceResponse:
        key = require_id(request.id, "id")
        async with self.db.read() as s:
            row = await get_or_404(s, Invoice, key, "invoice")
            return api.GetInvoiceResponse(invoice=await self.invoice_pb(s, row))

    async def BatchGetInvoices(
        self, request: api.BatchGetInvoicesRequest, context_: Any
    ) -> api.BatchGetInvoicesResponse:
        keys = uuids_from_strs(list(request.ids), "ids")
        async with self.db.read() as s:
            rows = await batch_get(s, Invoice, keys)
            return api.BatchGetInvoicesResponse(invoices=await self.invoices_pb(s, rows))

    async def ListInvoices(self, request: api.ListInvoicesRequest, context_: Any) -> api.ListInvoicesResponse:
        v = Validator()
        customers = v.collect(lambda: uuids_from_strs(list(request.customer_ids), "customer_ids")) or []
        statuses = v.enum_values(request.statuses, mapping.INVOICE_STATUS_FROM_PB, "statuses")
        dated_from, dated_to = date_range(
            v, request.invoice_date_from, request.invoice_date_to, "invoice_date_from", "invoice_date_to"
        )
        due_from, due_to = date_range(v, request.due_date_from, request.due_date_to, "due_date_from", "due_date_to")
        v.max_len(request.invoice_number, "invoice_number", 50)
        v.raise_if_any()
        today = self.clock.today()
        stmt = select(Invoice)
        if customers:
            stmt = stmt.where(Invoice.customer_id.in_(customers))
        if statuses:
            effective = store.effective_status_sql(Invoice.status, Invoice.due_date, today)
            stmt = stmt.where(effective.in_([s.value for s in statuses]))
        if dated_from is not None:
            stmt = stmt.where(Invoice.invoice_date >= dated_from)
        if dated_to is not None:
            stmt = stmt.where(Invoice.invoice_date <= dated_to)
        if due_from is not None:
            stmt = stmt.where(Invoice.due_date >= due_from)
        if due_to is not None:
            stmt = stmt.where(Invoice.due_date <= due_to)
        if request.invoice_number:
            stmt = stmt.where(Invoice.invoice_number == request.invoice_number.strip())
        # The effective status depends on today: a token from another day is for other filters.
        filters = (
            sorted(map(str, customers)),
            sorted(s.value for s in statuses),
            dated_from,
            dated_to,
            due_from,
            due_to,
            request.invoice_number.strip(),
            today if statuses else None,
        )
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [Invoice.invoice_date, Invoice.invoice_number],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=filters,
                descending=True,
            )
            invoices = await self.invoices_pb(s, page.items)
        return api.ListInvoicesResponse(
            invoices=invoices, next_page_token=page.next_page_token, total_size=page.total_size
        )
