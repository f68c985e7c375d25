"""Settling invoices: RecordPayment and IssueCreditNote (each updates the invoice, its status and
the customer's balance in one transaction), ListPayments and ListCreditNotes."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from erp.billing.v1 import billing_service_pb2 as api
from sqlalchemy import func, select

from services.billing import domain, events, mapping, store
from services.billing.api.base import ApiBase, date_range
from services.billing.read_model import mark_stale
from services.billing.tables import CreditNote, CreditNoteNumberSequence, Invoice, Payment
from services.billing.validation import MAX_NOTES, MAX_REASON, check_amount
from services.runtime.convert import date_from_pb, money_from_pb, uuid_from_str, uuids_from_strs
from services.runtime.db import UnitOfWork
from services.runtime.errors import InvalidArgument, Validator
from services.runtime.repository import get_versioned_for_update, list_page
from services.runtime.sequences import next_number


class SettlementsApi(ApiBase):
    async def RecordPayment(self, request: api.RecordPaymentRequest, context_: Any) -> api.RecordPaymentResponse:
        v = Validator()
        key = v.collect(lambda: uuid_from_str(request.invoice_id, "invoice_id"))
        paid_on = v.collect(lambda: date_from_pb(request.payment_date, "payment_date"))
        if paid_on is not None:
            v.check(paid_on <= self.clock.today(), "payment_date", "must not be in the future")
        amount = v.collect(lambda: money_from_pb(request.amount, "amount"))
        if amount is not None:
            check_amount(v, amount, "amount", positive=True)
        method = None
        if request.payment_method:
            methods = v.enum_values([request.payment_method], mapping.PAYMENT_METHOD_FROM_PB, "payment_method")
            method = methods[0] if methods else None
        v.max_len(request.reference, "reference", 100)
        v.max_len(request.notes, "notes", MAX_NOTES)
        v.raise_if_any()
        assert key is not None and paid_on is not None and amount is not None
        async with self.db.unit_of_work() as uow:
            invoice = await get_versioned_for_update(uow.session, Invoice, key, request.version, "invoice")
            domain.ensure_settleable(invoice.status, "a payment")
            domain.check_payment(amount, invoice.amount_due)
            payment = Payment(
                id=uuid.uuid4(),
                invoice_id=invoice.id,
                payment_date=paid_on,
                amount=amount,
                payment_method=method,
                reference=request.reference.strip() or None,
                notes=request.notes or None,
                created_at=self.clock.now(),
            )
            uow.session.add(payment)
            invoice.paid_amount += amount
            old = await self._settle(uow, invoice)
            events.record_invoice_event(uow, invoice, events.payment_recorded(payment, invoice))
            if invoice.status != old:
                events.record_invoice_event(uow, invoice, events.invoice_status_changed(invoice, old))
            invoice_pb = await self.invoice_pb(uow.session, invoice)
        return api.RecordPaymentResponse(payment=mapping.payment_to_pb(payment), invoice=invoice_pb)

    async def IssueCreditNote(self, request: api.IssueCreditNoteRequest, context_: Any) -> api.IssueCreditNoteResponse:
        v = Validator()
        key = v.collect(lambda: uuid_from_str(request.invoice_id, "invoice_id"))
        issued_on = v.collect(lambda: date_from_pb(request.issue_date, "issue_date", required=False))
        amount = v.collect(lambda: money_from_pb(request.amount, "amount"))
        if amount is not None:
            check_amount(v, amount, "amount", positive=True)
        tax = v.collect(lambda: money_from_pb(request.tax_amount, "tax_amount", required=False))
        if tax is not None:
            check_amount(v, tax, "tax_amount")
        reason = request.reason.strip()
        v.require(reason, "reason")
        v.max_len(request.reason, "reason", MAX_REASON)
        v.raise_if_any()
        assert key is not None and amount is not None
        tax = tax or domain.ZERO
        issued_on = issued_on or self.clock.today()
        async with self.db.unit_of_work() as uow:
            invoice = await get_versioned_for_update(uow.session, Invoice, key, request.version, "invoice")
            domain.ensure_settleable(invoice.status, "a credit note")
            if issued_on < invoice.invoice_date:
                raise InvalidArgument.field("issue_date", "must be on or after the invoice date")
            tax_credited = await self._tax_credited(uow, invoice.id)
            domain.check_credit(amount, tax, invoice.amount_due, invoice.tax_amount - tax_credited)
            number = await next_number(uow.session, CreditNoteNumberSequence, issued_on.year, store.CREDIT_NOTE_PREFIX)
            note = CreditNote(
                id=uuid.uuid4(),
                credit_note_number=number,
                invoice_id=invoice.id,
                customer_id=invoice.customer_id,
                issue_date=issued_on,
                amount=amount,
                tax_amount=tax,
                total_amount=amount + tax,
                reason=reason,
                created_at=self.clock.now(),
            )
            uow.session.add(note)
            invoice.credit_amount += note.total_amount
            old = await self._settle(uow, invoice)
            events.record_invoice_event(uow, invoice, events.credit_note_issued(note, invoice))
            if invoice.status != old:
                events.record_invoice_event(uow, invoice, events.invoice_status_changed(invoice, old))
            invoice_pb = await self.invoice_pb(uow.session, invoice)
        return api.IssueCreditNoteResponse(credit_note=mapping.credit_note_to_pb(note), invoice=invoice_pb)

    async def ListPayments(self, request: api.ListPaymentsRequest, context_: Any) -> api.ListPaymentsResponse:
        v = Validator()
        invoices = v.collect(lambda: uuids_from_strs(list(request.invoice_ids), "invoice_ids")) or []
        customer = v.collect(lambda: uuid_from_str(request.customer_id, "customer_id", required=False))
        paid_from, paid_to = date_range(
            v, request.payment_date_from, request.payment_date_to, "payment_date_from", "payment_date_to"
        )
        methods = v.enum_values(request.payment_methods, mapping.PAYMENT_METHOD_FROM_PB, "payment_methods")
        v.raise_if_any()
        stmt = select(Payment)
        if invoices:
            stmt = stmt.where(Payment.invoice_id.in_(invoices))
        if customer is not None:
            stmt = stmt.join(Invoice, Invoice.id == Payment.invoice_id).where(Invoice.customer_id == customer)
        stmt = _dated(stmt, Payment.payment_date, paid_from, paid_to)
        if methods:
            stmt = stmt.where(Payment.payment_method.in_(methods))
        filters = (sorted(map(str, invoices)), str(customer), paid_from, paid_to, sorted(methods))
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [Payment.payment_date, Payment.id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=filters,
                descending=True,
            )
        return api.ListPaymentsResponse(
            payments=[mapping.payment_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def ListCreditNotes(self, request: api.ListCreditNotesRequest, context_: Any) -> api.ListCreditNotesResponse:
        v = Validator()
        invoice = v.collect(lambda: uuid_from_str(request.invoice_id, "invoice_id", required=False))
        customer = v.collect(lambda: uuid_from_str(request.customer_id, "customer_id", required=False))
        issued_from, issued_to = date_range(
            v, request.issue_date_from, request.issue_date_to, "issue_date_from", "issue_date_to"
        )
        v.raise_if_any()
        stmt = select(CreditNote)
        if invoice is not None:
            stmt = stmt.where(CreditNote.invoice_id == invoice)
        if customer is not None:
            stmt = stmt.where(CreditNote.customer_id == customer)
        stmt = _dated(stmt, CreditNote.issue_date, issued_from, issued_to)
        filters = (str(invoice), str(customer), issued_from, issued_to)
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [CreditNote.issue_date, CreditNote.credit_note_number],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=filters,
                descending=True,
            )
        return api.ListCreditNotesResponse(
            credit_notes=[mapping.credit_note_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def _settle(self, uow: UnitOfWork, invoice: Invoice) -> str:
        """After paid_amount or credit_amount grew: the new status, version and customer balance.
        Returns the status before."""
        old = invoice.status
        due = domain.amount_due(invoice.total_amount, invoice.paid_amount, invoice.credit_amount)
        invoice.status = domain.status_after_settlement(old, invoice.paid_amount, due).value
        invoice.version += 1
        invoice.updated_at = self.clock.now()
        customer = await store.lock_customer(uow.session, invoice.customer_id)
        await store.refresh_balance(uow.session, customer)
        await mark_stale(uow.session)
        return old

    async def _tax_credited(self, uow: UnitOfWork, invoice_id: uuid.UUID) -> Decimal:
        stmt = select(func.coalesce(func.sum(CreditNote.tax_amount), 0)).where(CreditNote.invoice_id == invoice_id)
        return Decimal((await uow.session.execute(stmt)).scalar_one())


def _dated(stmt: Any, column: Any, lo: date | None, hi: date | None) -> Any:
    if lo is not None:
        stmt = stmt.where(column >= lo)
    if hi is not None:
        stmt = stmt.where(column <= hi)
    return stmt
