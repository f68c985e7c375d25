"""Invoice lifecycle: IssueInvoice (PENDING -> SENT, within the credit limit), CancelInvoice and
MarkOverdueInvoices. Every stored status change records InvoiceStatusChanged."""

from __future__ import annotations

from typing import Any

from erp.billing.v1 import billing_service_pb2 as api

from services.billing import domain, events, overdue, store
from services.billing.api.base import ApiBase, require_id
from services.billing.read_model import mark_stale
from services.billing.tables import Invoice
from services.billing.validation import MAX_REASON
from services.runtime.convert import date_from_pb
from services.runtime.errors import InvalidArgument, Validator
from services.runtime.repository import get_versioned_for_update


class LifecycleApi(ApiBase):
    async def IssueInvoice(self, request: api.IssueInvoiceRequest, context_: Any) -> api.IssueInvoiceResponse:
        key = require_id(request.id, "id")
        async with self.db.unit_of_work() as uow:
            row = await get_versioned_for_update(uow.session, Invoice, key, request.version, "invoice")
            customer = await store.lock_customer(uow.session, row.customer_id)
            balance = await store.open_balance(uow.session, customer.id)
            domain.ensure_can_issue(row.status, customer.status, row.total_amount, balance, customer.credit_limit)
            old = row.status
            now = self.clock.now()
            row.status = domain.InvoiceStatus.SENT.value
            row.issued_at = now
            row.version += 1
            row.updated_at = now
            await store.refresh_balance(uow.session, customer)
            events.record_invoice_event(uow, row, events.invoice_issued(row, customer))
            events.record_invoice_event(uow, row, events.invoice_status_changed(row, old))
            await mark_stale(uow.session)
            return api.IssueInvoiceResponse(invoice=await self.invoice_pb(uow.session, row))

    async def CancelInvoice(self, request: api.CancelInvoiceRequest, context_: Any) -> api.CancelInvoiceResponse:
        v = Validator()
        key = v.collect(lambda: require_id(request.id, "id"))
        reason = request.reason.strip()
        v.require(reason, "reason")
        v.max_len(request.reason, "reason", MAX_REASON)
        v.raise_if_any()
        assert key is not None
        async with self.db.unit_of_work() as uow:
            row = await get_versioned_for_update(uow.session, Invoice, key, request.version, "invoice")
            posted = domain.ensure_can_cancel(row.status, row.paid_amount, row.credit_amount)
            old = row.status
            row.status = domain.InvoiceStatus.CANCELLED.value
            row.version += 1
            row.updated_at = self.clock.now()
            await uow.session.flush()
            if posted:
                customer = await store.lock_customer(uow.session, row.customer_id)
                await store.refresh_balance(uow.session, customer)
            events.record_invoice_event(uow, row, events.invoice_status_changed(row, old))
            if posted:
                # Accounting reverses the issue posting; a draft was never posted.
                events.record_invoice_event(uow, row, events.invoice_cancelled(row, old, reason, self.clock.today()))
            await mark_stale(uow.session)
            return api.CancelInvoiceResponse(invoice=await self.invoice_pb(uow.session, row))

    async def MarkOverdueInvoices(
        self, request: api.MarkOverdueInvoicesRequest, context_: Any
    ) -> api.MarkOverdueInvoicesResponse:
        today = self.clock.today()
        as_of = date_from_pb(request.as_of_date, "as_of_date", required=False) or today
        if as_of > today:
            raise InvalidArgument.field("as_of_date", "must not be in the future")
        async with self.db.unit_of_work() as uow:
            rows = await overdue.mark_overdue(uow, as_of, self.clock.now())
        return api.MarkOverdueInvoicesResponse(invoice_ids=[str(r.id) for r in rows], marked_count=len(rows))
