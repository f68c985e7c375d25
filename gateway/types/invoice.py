"""The Invoice entity (erp.billing.v1.Invoice), with its lines and payments."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import strawberry
from erp.billing.v1 import billing_pb2 as pb

from gateway.context import GatewayInfo
from gateway.enums import ProtoEnum
from gateway.pagination import Connection, local_connection
from gateway.refs import with_references
from gateway.types.invoice_line_item import InvoiceLineItem
from gateway.types.journal_entry_source import JournalEntrySource
from gateway.types.payment import Payment
from gateway.wire import amount_of, date_of, datetime_of, id_or_none


@strawberry.enum(
    description="PENDING (draft) -> SENT -> PARTIALLY_PAID -> PAID; OVERDUE after the due date; CANCELLED."
)
class InvoiceStatus(enum.Enum):
    PENDING = "PENDING"
    SENT = "SENT"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    OVERDUE = "OVERDUE"
    CANCELLED = "CANCELLED"


INVOICE_STATUS = ProtoEnum(InvoiceStatus, pb.InvoiceStatus, "INVOICE_STATUS_")


@strawberry.federation.type(keys=["id"], description="An invoice to a customer.")
@with_references(pb.Invoice.DESCRIPTOR)
class Invoice(JournalEntrySource):
    id: strawberry.ID
    invoice_number: str
    customer_id: strawberry.ID
    invoice_date: date
    due_date: date
    subtotal: Decimal
    tax_amount: Decimal
    total_amount: Decimal
    paid_amount: Decimal
    credit_amount: Decimal
    amount_due: Decimal = strawberry.field(description="Total minus payments and credit notes.")
    status: InvoiceStatus
    notes: str | None
    lines: list[InvoiceLineItem] = strawberry.field(description="Ordered by line number.")
    accounting_transaction_id: strawberry.ID | None
    issued_at: datetime | None
    create_time: datetime | None
    update_time: datetime | None
    version: int = strawberry.field(description="Optimistic-locking version: send it back with every change.")

    @classmethod
    def from_proto(cls, m: pb.Invoice) -> Invoice:
        return cls(
            id=strawberry.ID(m.id),
            invoice_number=m.invoice_number,
            customer_id=strawberry.ID(m.customer_id),
            invoice_date=date_of(m.invoice_date) or date.min,
            due_date=date_of(m.due_date) or date.min,
            subtotal=amount_of(m.subtotal),
            tax_amount=amount_of(m.tax_amount),
            total_amount=amount_of(m.total_amount),
            paid_amount=amount_of(m.paid_amount),
            credit_amount=amount_of(m.credit_amount),
            amount_due=amount_of(m.amount_due),
            status=INVOICE_STATUS.from_pb(m.status),
            notes=m.notes or None,
            lines=[InvoiceLineItem.from_proto(line) for line in m.lines],
            accounting_transaction_id=id_or_none(m.accounting_transaction_id),
            issued_at=datetime_of(m, "issued_at"),
            create_time=datetime_of(m, "create_time"),
            update_time=datetime_of(m, "update_time"),
            version=m.version,
        )

    @classmethod
    async def resolve_reference(cls, info: GatewayInfo, id: strawberry.ID) -> Invoice | None:
        message = await info.context.loaders.billing.invoices.load(id)
        return None if message is None else cls.from_proto(message)

    @strawberry.field(description="Payments received against the invoice (the billing service's order).")
    async def payments(
        self, info: GatewayInfo, first: int | None = None, after: str | None = None
    ) -> Connection[Payment]:
        payments = await info.context.loaders.billing.invoice_payments.load(self.id)
        return local_connection(payments, Payment.from_proto, first, after)
