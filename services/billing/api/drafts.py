"""Draft invoices: CreateInvoice (numbered at once, gap-free per year) and UpdateInvoice (PENDING
only, including the replacement of every line; totals recomputed)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from erp.billing.v1 import billing_service_pb2 as api
from sqlalchemy import delete

from services.billing import domain, events, mapping, store
from services.billing.api.base import ApiBase, require_id
from services.billing.read_model import mark_stale
from services.billing.tables import Customer, Invoice, InvoiceLineItem, InvoiceNumberSequence
from services.billing.validation import (
    MAX_NOTES,
    UPDATABLE_INVOICE_FIELDS,
    check_amount,
    check_line_count,
    check_totals,
    validate_line,
)
from services.runtime.convert import date_from_pb, money_from_pb, uuid_from_str
from services.runtime.errors import InvalidArgument, Validator
from services.runtime.repository import get_or_404, get_versioned_for_update
from services.runtime.sequences import next_number


def parse_lines(v: Validator, inputs: Sequence[api.InvoiceLineInput], field: str) -> list[domain.LineInput] | None:
    """Every line, or None when one of them is invalid (its violations are in `v`)."""
    check_line_count(v, inputs, field)
    out: list[domain.LineInput] = []
    for i, line in enumerate(inputs):
        parsed = _parse_line(v, line, f"{field}[{i}].")
        if parsed is not None:
            out.append(parsed)
    return out if len(out) == len(inputs) and inputs else None


def _parse_line(v: Validator, line: api.InvoiceLineInput, prefix: str) -> domain.LineInput | None:
    quantity = v.collect(lambda: money_from_pb(line.quantity, prefix + "quantity"))
    price = v.collect(lambda: money_from_pb(line.unit_price, prefix + "unit_price"))
    return validate_line(v, prefix, line.description, quantity, price)


def line_rows(invoice_id: uuid.UUID, lines: Sequence[domain.PricedLine], now: datetime) -> list[InvoiceLineItem]:
    return [
        InvoiceLineItem(
            id=uuid.uuid4(),
            invoice_id=invoice_id,
            line_number=line.line_number,
            description=line.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
            created_at=now,
        )
        for line in lines
    ]


def same_lines(current: Sequence[InvoiceLineItem], new: Sequence[domain.PricedLine]) -> bool:
    def key(row: InvoiceLineItem | domain.PricedLine) -> tuple[str, Decimal, Decimal]:
        return (row.description, row.quantity, row.unit_price)

    return [key(r) for r in current] == [key(r) for r in new]


class DraftsApi(ApiBase):
    async def CreateInvoice(self, request: api.CreateInvoiceRequest, context_: Any) -> api.CreateInvoiceResponse:
        v = Validator()
        customer_id = v.collect(lambda: uuid_from_str(request.customer_id, "customer_id"))
        invoice_date = v.collect(lambda: date_from_pb(request.invoice_date, "invoice_date", required=False))
        due_date = v.collect(lambda: date_from_pb(request.due_date, "due_date"))
        tax = v.collect(lambda: money_from_pb(request.tax_amount, "tax_amount", required=False))
        if tax is not None:
            check_amount(v, tax, "tax_amount")
        v.max_len(request.notes, "notes", MAX_NOTES)
        lines = parse_lines(v, request.lines, "lines")
        invoice_date = invoice_date or self.clock.today()
        if due_date is not None:
            v.check(due_date >= invoice_date, "due_date", "must be on or after the invoice date")
        priced = domain.price_lines(lines or [])
        totals = domain.invoice_totals((line.amount for line in priced), tax or domain.ZERO)
        check_totals(v, totals, "lines", "tax_amount")
        v.raise_if_any()
        assert customer_id is not None and due_date is not None
        now = self.clock.now()
        async with self.db.unit_of_work() as uow:
            customer = await get_or_404(uow.session, Customer, customer_id, "customer")
            domain.ensure_invoiceable(customer.status)
            number = await next_number(uow.session, InvoiceNumberSequence, invoice_date.year, store.INVOICE_PREFIX)
            row = Invoice(
                id=uuid.uuid4(),
                invoice_number=number,
                customer_id=customer.id,
                invoice_date=invoice_date,
                due_date=due_date,
                subtotal=totals.subtotal,
                tax_amount=totals.tax_amount,
                total_amount=totals.total_amount,
                paid_amount=domain.ZERO,
                credit_amount=domain.ZERO,
                status=domain.InvoiceStatus.PENDING.value,
                notes=request.notes or None,
                version=1,
                created_at=now,
                updated_at=now,
            )
            uow.session.add(row)
            await uow.session.flush()  # the invoice before its lines (foreign key)
            new_lines = line_rows(row.id, priced, now)
            uow.session.add_all(new_lines)
            events.record_invoice_event(uow, row, events.invoice_created(row, len(new_lines)))
            await mark_stale(uow.session)
        return api.CreateInvoiceResponse(invoice=mapping.invoice_to_pb(row, new_lines, self.clock.today()))

    async def UpdateInvoice(self, request: api.UpdateInvoiceRequest, context_: Any) -> api.UpdateInvoiceResponse:
        paths = list(request.update_mask.paths)
        if not paths:
            raise InvalidArgument.field("update_mask", "must name at least one field")
        unknown = sorted(set(paths) - UPDATABLE_INVOICE_FIELDS)
        if unknown:
            raise InvalidArgument.field("update_mask", f"cannot update {', '.join(unknown)}")
        inv = request.invoice
        key = require_id(inv.id, "invoice.id")
        v = Validator()
        values: dict[str, Any] = {}
        if "invoice_date" in paths:
            values["invoice_date"] = v.collect(lambda: date_from_pb(inv.invoice_date, "invoice.invoice_date"))
        if "due_date" in paths:
            values["due_date"] = v.collect(lambda: date_from_pb(inv.due_date, "invoice.due_date"))
        if "tax_amount" in paths:
            tax = v.collect(lambda: money_from_pb(inv.tax_amount, "invoice.tax_amount", required=False))
            if tax is not None:
                check_amount(v, tax, "invoice.tax_amount")
            values["tax_amount"] = tax if tax is not None else domain.ZERO
        if "notes" in paths:
            v.max_len(inv.notes, "invoice.notes", MAX_NOTES)
            values["notes"] = inv.notes or None
        new_lines: list[domain.PricedLine] | None = None
        if "lines" in paths:
            parsed = parse_lines(v, request.replacement_lines, "replacement_lines")
            new_lines = domain.price_lines(parsed or [])
        else:
            v.check(not request.replacement_lines, "replacement_lines", "given but update_mask does not name lines")
        v.raise_if_any()
        async with self.db.unit_of_work() as uow:
            row = await get_versioned_for_update(uow.session, Invoice, key, request.version, "invoice")
            domain.ensure_editable(row.status)
            current = (await store.lines_of(uow.session, [row.id]))[row.id]
            self._check_dates(row, values.get("invoice_date", row.invoice_date), values.get("due_date", row.due_date))
            kept: Sequence[InvoiceLineItem | domain.PricedLine] = current if new_lines is None else new_lines
            totals = domain.invoice_totals((line.amount for line in kept), values.get("tax_amount", row.tax_amount))
            totals_check = Validator()
            check_totals(totals_check, totals, "replacement_lines", "invoice.tax_amount")
            totals_check.raise_if_any()
            changed = [name for name, value in values.items() if getattr(row, name) != value]
            lines_changed = new_lines is not None and not same_lines(current, new_lines)
            if changed or lines_changed:
                now = self.clock.now()
                for name in changed:
                    setattr(row, name, values[name])
                row.subtotal, row.tax_amount, row.total_amount = totals.subtotal, totals.tax_amount, totals.total_amount
                row.version += 1
                row.updated_at = now
                await uow.session.flush()
                if lines_changed and new_lines is not None:
                    # A statement, not ORM deletes: the flush would insert the new lines first and
                    # collide with the old ones on (invoice_id, line_number).
                    await uow.session.execute(delete(InvoiceLineItem).where(InvoiceLineItem.invoice_id == row.id))
                    current = line_rows(row.id, new_lines, now)
                    uow.session.add_all(current)
                fields = sorted(changed) + (["lines"] if lines_changed else [])
                events.record_invoice_event(uow, row, events.invoice_updated(row, fields, len(current)))
                await mark_stale(uow.session)
        return api.UpdateInvoiceResponse(invoice=mapping.invoice_to_pb(row, current, self.clock.today()))

    @staticmethod
    def _check_dates(row: Invoice, invoice_date: date, due_date: date) -> None:
        v = Validator()
        v.check(
            invoice_date.year == row.invoice_date.year,
            "invoice.invoice_date",
            f"must stay in {row.invoice_date.year}, the year of invoice number {row.invoice_number}",
        )
        v.check(due_date >= invoice_date, "invoice.due_date", "must be on or after the invoice date")
        v.raise_if_any()
