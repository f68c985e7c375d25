"""Rows to protobuf messages for the billing service (events are built in events.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from erp.billing.v1 import billing_pb2 as pb

from services.billing import aging, domain
from services.billing.tables import CreditNote, Customer, Invoice, InvoiceLineItem, InvoiceSummaryRow, Payment
from services.runtime.convert import date_to_pb, decimal_to_pb, str_or_empty, timestamp_to_pb

CUSTOMER_STATUS_TO_PB = {
    domain.CustomerStatus.ACTIVE: pb.CUSTOMER_STATUS_ACTIVE,
    domain.CustomerStatus.INACTIVE: pb.CUSTOMER_STATUS_INACTIVE,
    domain.CustomerStatus.SUSPENDED: pb.CUSTOMER_STATUS_SUSPENDED,
}
CUSTOMER_STATUS_FROM_PB = {v: k for k, v in CUSTOMER_STATUS_TO_PB.items()}

INVOICE_STATUS_TO_PB = {
    domain.InvoiceStatus.PENDING: pb.INVOICE_STATUS_PENDING,
    domain.InvoiceStatus.SENT: pb.INVOICE_STATUS_SENT,
    domain.InvoiceStatus.PARTIALLY_PAID: pb.INVOICE_STATUS_PARTIALLY_PAID,
    domain.InvoiceStatus.PAID: pb.INVOICE_STATUS_PAID,
    domain.InvoiceStatus.OVERDUE: pb.INVOICE_STATUS_OVERDUE,
    domain.InvoiceStatus.CANCELLED: pb.INVOICE_STATUS_CANCELLED,
}
INVOICE_STATUS_FROM_PB = {v: k for k, v in INVOICE_STATUS_TO_PB.items()}

PAYMENT_METHOD_TO_PB = {
    "bank_transfer": pb.PAYMENT_METHOD_BANK_TRANSFER,
    "credit_card": pb.PAYMENT_METHOD_CREDIT_CARD,
    "check": pb.PAYMENT_METHOD_CHECK,
    "cash": pb.PAYMENT_METHOD_CASH,
}
PAYMENT_METHOD_FROM_PB = {v: k for k, v in PAYMENT_METHOD_TO_PB.items()}


def invoice_status_pb(status: str) -> pb.InvoiceStatus.ValueType:
    return INVOICE_STATUS_TO_PB[domain.InvoiceStatus(status)]


def payment_method_pb(method: str | None) -> pb.PaymentMethod.ValueType:
    return PAYMENT_METHOD_TO_PB.get(method or "", pb.PAYMENT_METHOD_UNSPECIFIED)


def customer_status_pb(status: str) -> pb.CustomerStatus.ValueType:
    return CUSTOMER_STATUS_TO_PB[domain.CustomerStatus(status)]


def customer_to_pb(row: Customer) -> pb.Customer:
    return pb.Customer(
        id=str(row.id),
        name=row.name,
        email=row.email,
        phone=row.phone or "",
        address=row.address or "",
        city=row.city or "",
        state=row.state or "",
        zip_code=row.zip_code or "",
        country=row.country or "",
        credit_limit=decimal_to_pb(row.credit_limit),
        current_balance=decimal_to_pb(row.current_balance),
        status=customer_status_pb(row.status),
        create_time=timestamp_to_pb(row.created_at),
        update_time=timestamp_to_pb(row.updated_at),
        version=row.version,
    )


def line_to_pb(row: InvoiceLineItem) -> pb.InvoiceLineItem:
    return pb.InvoiceLineItem(
        id=str(row.id),
        invoice_id=str(row.invoice_id),
        line_number=row.line_number,
        description=row.description,
        quantity=decimal_to_pb(row.quantity),
        unit_price=decimal_to_pb(row.unit_price),
        amount=decimal_to_pb(row.amount),
        create_time=timestamp_to_pb(row.created_at),
    )


def invoice_to_pb(row: Invoice, lines: Sequence[InvoiceLineItem], today: date) -> pb.Invoice:
    """The invoice as readers see it: the status is the effective one (overdue at once)."""
    return pb.Invoice(
        id=str(row.id),
        invoice_number=row.invoice_number,
        customer_id=str(row.customer_id),
        invoice_date=date_to_pb(row.invoice_date),
        due_date=date_to_pb(row.due_date),
        subtotal=decimal_to_pb(row.subtotal),
        tax_amount=decimal_to_pb(row.tax_amount),
        total_amount=decimal_to_pb(row.total_amount),
        paid_amount=decimal_to_pb(row.paid_amount),
        credit_amount=decimal_to_pb(row.credit_amount),
        amount_due=decimal_to_pb(row.amount_due),
        status=INVOICE_STATUS_TO_PB[domain.effective_status(row.status, row.due_date, today)],
        notes=row.notes or "",
        accounting_transaction_id=str_or_empty(row.accounting_transaction_id),
        create_time=timestamp_to_pb(row.created_at),
        update_time=timestamp_to_pb(row.updated_at),
        issued_at=timestamp_to_pb(row.issued_at),
        lines=[line_to_pb(line) for line in sorted(lines, key=lambda line: line.line_number)],
        version=row.version,
    )


def payment_to_pb(row: Payment) -> pb.Payment:
    return pb.Payment(
        id=str(row.id),
        invoice_id=str(row.invoice_id),
        payment_date=date_to_pb(row.payment_date),
        amount=decimal_to_pb(row.amount),
        payment_method=payment_method_pb(row.payment_method),
        reference=row.reference or "",
        notes=row.notes or "",
        create_time=timestamp_to_pb(row.created_at),
    )


def credit_note_to_pb(row: CreditNote) -> pb.CreditNote:
    return pb.CreditNote(
        id=str(row.id),
        credit_note_number=row.credit_note_number,
        invoice_id=str(row.invoice_id),
        customer_id=str(row.customer_id),
        issue_date=date_to_pb(row.issue_date),
        amount=decimal_to_pb(row.amount),
        tax_amount=decimal_to_pb(row.tax_amount),
        total_amount=decimal_to_pb(row.total_amount),
        reason=row.reason or "",
        accounting_transaction_id=str_or_empty(row.accounting_transaction_id),
        create_time=timestamp_to_pb(row.created_at),
    )


def summary_to_pb(row: InvoiceSummaryRow, today: date) -> pb.InvoiceSummary:
    return pb.InvoiceSummary(
        id=str(row.id),
        invoice_number=row.invoice_number,
        customer_id=str(row.customer_id),
        customer_name=row.customer_name,
        total_amount=decimal_to_pb(row.total_amount),
        paid_amount=decimal_to_pb(row.paid_amount),
        status=INVOICE_STATUS_TO_PB[domain.effective_status(row.status, row.due_date, today)],
        line_item_count=row.line_item_count,
    )


def buckets_to_pb(buckets: aging.Buckets) -> pb.AgingBuckets:
    a = buckets.amounts
    return pb.AgingBuckets(
        current=decimal_to_pb(a[aging.Bucket.CURRENT]),
        days_1_to_30=decimal_to_pb(a[aging.Bucket.DAYS_1_TO_30]),
        days_31_to_60=decimal_to_pb(a[aging.Bucket.DAYS_31_TO_60]),
        days_61_to_90=decimal_to_pb(a[aging.Bucket.DAYS_61_TO_90]),
        days_over_90=decimal_to_pb(a[aging.Bucket.DAYS_OVER_90]),
        total=decimal_to_pb(buckets.total),
    )


def aging_to_pb(result: aging.AgingResult) -> pb.AgingReport:
    return pb.AgingReport(
        as_of_date=date_to_pb(result.as_of),
        rows=[
            pb.AgingReportRow(
                customer_id=str(r.customer_id),
                customer_name=r.customer_name,
                invoice_count=r.invoice_count,
                buckets=buckets_to_pb(r.buckets),
            )
            for r in result.rows
        ],
        totals=buckets_to_pb(result.totals),
    )
