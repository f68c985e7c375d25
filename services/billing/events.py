"""The billing service's events (erp.billing.v1), built from rows, and how they are recorded.

Invoice-related events (including PaymentRecorded and CreditNoteIssued) use the invoice as their
aggregate, so the relay publishes them in order: InvoiceIssued before a payment or a credit note
of the same invoice, which is the order accounting needs.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from erp.billing.v1 import events_pb2 as ev
from google.protobuf.message import Message

from services.billing import domain, mapping
from services.billing.tables import CreditNote, Customer, Invoice, Payment
from services.runtime.convert import date_to_pb, decimal_to_pb, str_or_empty
from services.runtime.db import UnitOfWork


def record_invoice_event(uow: UnitOfWork, invoice: Invoice, message: Message) -> None:
    uow.record(message, aggregate_type="Invoice", aggregate_id=invoice.id, version=invoice.version)


def record_customer_event(uow: UnitOfWork, customer: Customer, message: Message) -> None:
    uow.record(message, aggregate_type="Customer", aggregate_id=customer.id, version=customer.version)


def customer_created(row: Customer) -> ev.CustomerCreated:
    return ev.CustomerCreated(
        customer_id=str(row.id),
        name=row.name,
        email=row.email,
        city=row.city or "",
        state=row.state or "",
        country=row.country or "",
        credit_limit=decimal_to_pb(row.credit_limit),
        status=mapping.customer_status_pb(row.status),
        version=row.version,
    )


def customer_updated(row: Customer, changed: list[str]) -> ev.CustomerUpdated:
    """Only the changed values are set."""
    msg = ev.CustomerUpdated(customer_id=str(row.id), changed_fields=sorted(changed), version=row.version)
    for name in ("name", "email", "phone", "address", "city", "state", "zip_code", "country"):
        if name in changed:
            setattr(msg, name, getattr(row, name) or "")
    if "credit_limit" in changed:
        msg.credit_limit.CopyFrom(decimal_to_pb(row.credit_limit))
    if "status" in changed:
        msg.status = mapping.customer_status_pb(row.status)
    return msg


def _invoice_state(row: Invoice, line_count: int) -> dict[str, Any]:
    """What InvoiceCreated and InvoiceUpdated both say: the draft as it stands."""
    return {
        "invoice_id": str(row.id),
        "invoice_number": row.invoice_number,
        "customer_id": str(row.customer_id),
        "invoice_date": date_to_pb(row.invoice_date),
        "due_date": date_to_pb(row.due_date),
        "subtotal": decimal_to_pb(row.subtotal),
        "tax_amount": decimal_to_pb(row.tax_amount),
        "total_amount": decimal_to_pb(row.total_amount),
        "line_item_count": line_count,
        "version": row.version,
    }


def invoice_created(row: Invoice, line_count: int) -> ev.InvoiceCreated:
    return ev.InvoiceCreated(**_invoice_state(row, line_count))


def invoice_updated(row: Invoice, changed: list[str], line_count: int) -> ev.InvoiceUpdated:
    return ev.InvoiceUpdated(changed_fields=changed, **_invoice_state(row, line_count))


def invoice_issued(row: Invoice, customer: Customer) -> ev.InvoiceIssued:
    return ev.InvoiceIssued(
        invoice_id=str(row.id),
        invoice_number=row.invoice_number,
        customer_id=str(row.customer_id),
        customer_name=customer.name,
        invoice_date=date_to_pb(row.invoice_date),
        due_date=date_to_pb(row.due_date),
        subtotal=decimal_to_pb(row.subtotal),
        tax_amount=decimal_to_pb(row.tax_amount),
        total_amount=decimal_to_pb(row.total_amount),
        version=row.version,
    )


def invoice_status_changed(row: Invoice, old_status: str) -> ev.InvoiceStatusChanged:
    """The stored transition (old -> row.status), with the amount still due afterwards (none once
    cancelled)."""
    due = domain.ZERO if row.status == domain.InvoiceStatus.CANCELLED else row.amount_due
    return ev.InvoiceStatusChanged(
        invoice_id=str(row.id),
        invoice_number=row.invoice_number,
        customer_id=str(row.customer_id),
        old_status=mapping.invoice_status_pb(old_status),
        new_status=mapping.invoice_status_pb(row.status),
        amount_due=decimal_to_pb(due),
        version=row.version,
    )


def invoice_cancelled(row: Invoice, previous_status: str, reason: str, on: date) -> ev.InvoiceCancelled:
    return ev.InvoiceCancelled(
        invoice_id=str(row.id),
        invoice_number=row.invoice_number,
        customer_id=str(row.customer_id),
        reason=reason,
        previous_status=mapping.invoice_status_pb(previous_status),
        subtotal=decimal_to_pb(row.subtotal),
        tax_amount=decimal_to_pb(row.tax_amount),
        total_amount=decimal_to_pb(row.total_amount),
        accounting_transaction_id=str_or_empty(row.accounting_transaction_id),
        version=row.version,
        cancellation_date=date_to_pb(on),
    )


def payment_recorded(payment: Payment, invoice: Invoice) -> ev.PaymentRecorded:
    return ev.PaymentRecorded(
        payment_id=str(payment.id),
        invoice_id=str(invoice.id),
        invoice_number=invoice.invoice_number,
        customer_id=str(invoice.customer_id),
        payment_date=date_to_pb(payment.payment_date),
        amount=decimal_to_pb(payment.amount),
        payment_method=mapping.payment_method_pb(payment.payment_method),
        reference=payment.reference or "",
        invoice_paid_amount=decimal_to_pb(invoice.paid_amount),
        invoice_status=mapping.invoice_status_pb(invoice.status),
        invoice_version=invoice.version,
    )


def credit_note_issued(note: CreditNote, invoice: Invoice) -> ev.CreditNoteIssued:
    return ev.CreditNoteIssued(
        credit_note_id=str(note.id),
        credit_note_number=note.credit_note_number,
        invoice_id=str(invoice.id),
        invoice_number=invoice.invoice_number,
        customer_id=str(note.customer_id),
        issue_date=date_to_pb(note.issue_date),
        amount=decimal_to_pb(note.amount),
        tax_amount=decimal_to_pb(note.tax_amount),
        total_amount=decimal_to_pb(note.total_amount),
        reason=note.reason or "",
        invoice_version=invoice.version,
    )
