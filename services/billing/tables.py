"""billing_db: customers, invoices with their lines, payments and credit notes (spec section 4).

Every reference inside billing_db is a real foreign key. The journal entries accounting posts
for invoices and credit notes live in accounting_db: those columns are logical references,
documented by a column comment (spec migration phase 1).

`invoice_summary` is the spec's CQRS read model, a materialized view created by the migration.
It is described below as a read-only `Table` on its own MetaData, so queries can select from it
while Alembic's autogenerate (which only sees `Base.metadata`) never tries to create it.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.runtime.tables import created_at_column, new_metadata, updated_at_column, uuid_pk

CUSTOMER_STATUSES = ("active", "inactive", "suspended")
INVOICE_STATUSES = ("pending", "sent", "partially_paid", "paid", "overdue", "cancelled")
PAYMENT_METHODS = ("bank_transfer", "credit_card", "check", "cash")

JOURNAL_ENTRY_REF = "Logical reference to Accounting Service - journal_entries.id"


class Base(DeclarativeBase):
    metadata = new_metadata()


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        Index("idx_customers_email", "email"),
        Index("idx_customers_status", "status"),
        CheckConstraint(f"status IN {CUSTOMER_STATUSES}", name="status_known"),
        CheckConstraint("credit_limit >= 0", name="credit_limit_non_negative"),
        CheckConstraint("current_balance >= 0", name="current_balance_non_negative"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(50))
    zip_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(100))
    credit_limit: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False, server_default=text("0"))
    current_balance: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False, server_default=text("0"))
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default=text("'active'"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))


class Invoice(Base):
    __tablename__ = "invoices"
    __table_args__ = (
        Index("idx_invoices_number", "invoice_number"),
        Index("idx_invoices_customer", "customer_id"),
        Index("idx_invoices_status", "status"),
        Index("idx_invoices_due_date", "due_date"),
        CheckConstraint(f"status IN {INVOICE_STATUSES}", name="status_known"),
        CheckConstraint("due_date >= invoice_date", name="due_on_or_after_invoice_date"),
        CheckConstraint("subtotal >= 0", name="subtotal_non_negative"),
        CheckConstraint("tax_amount >= 0", name="tax_amount_non_negative"),
        CheckConstraint("total_amount = subtotal + tax_amount", name="total_is_subtotal_plus_tax"),
        CheckConstraint("paid_amount >= 0", name="paid_amount_non_negative"),
        CheckConstraint("credit_amount >= 0", name="credit_amount_non_negative"),
        CheckConstraint("paid_amount + credit_amount <= total_amount", name="settled_within_total"),
        CheckConstraint("status <> 'pending' OR issued_at IS NULL", name="pending_not_issued"),
        CheckConstraint("status IN ('pending', 'cancelled') OR issued_at IS NOT NULL", name="issued_has_issued_at"),
    )
    # amount_due is computed by PostgreSQL: read it back (RETURNING) on every INSERT and UPDATE,
    # so an async session never has to lazy-load it.
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[uuid.UUID] = uuid_pk()
    invoice_number: Mapped[str] = mapped_column(String(50), nullable=False, unique=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", name="fk_invoices_customer_id_customers"), nullable=False
    )
    invoice_date: Mapped[date] = mapped_column(Date, nullable=False)
    due_date: Mapped[date] = mapped_column(Date, nullable=False)
    subtotal: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    tax_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False, server_default=text("0"))
    total_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    paid_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False, server_default=text("0"))
    credit_amount: Mapped[Decimal] = mapped_column(
        Numeric(12, 2), nullable=False, server_default=text("0"), comment="Sum of the credit notes' total amounts"
    )
    amount_due: Mapped[Decimal] = mapped_column(
        Numeric(12, 2), Computed("total_amount - paid_amount - credit_amount", persisted=True), nullable=False
    )
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default=text("'pending'"))
    notes: Mapped[str | None] = mapped_column(Text)
    accounting_transaction_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), comment=JOURNAL_ENTRY_REF)
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))


class InvoiceLineItem(Base):
    __tablename__ = "invoice_line_items"
    __table_args__ = (
        Index("idx_invoice_lines_invoice", "invoice_id"),
        UniqueConstraint("invoice_id", "line_number"),
        CheckConstraint("line_number >= 1", name="line_number_positive"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_non_negative"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("invoices.id", ondelete="CASCADE", name="fk_invoice_line_items_invoice_id_invoices"),
        nullable=False,
    )
    line_number: Mapped[int] = mapped_column(Integer, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        Index("idx_payments_invoice", "invoice_id"),
        Index("idx_payments_date", "payment_date"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(f"payment_method IS NULL OR payment_method IN {PAYMENT_METHODS}", name="payment_method_known"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("invoices.id", name="fk_payments_invoice_id_invoices"), nullable=False
    )
    payment_date: Mapped[date] = mapped_column(Date, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    payment_method: Mapped[str | None] = mapped_column(String(50))
    reference: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()


class CreditNote(Base):
    __tablename__ = "credit_notes"
    __table_args__ = (
        Index("idx_credit_notes_invoice", "invoice_id"),
        Index("idx_credit_notes_customer", "customer_id"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint("tax_amount >= 0", name="tax_amount_non_negative"),
        CheckConstraint("total_amount = amount + tax_amount", name="total_is_amount_plus_tax"),
        CheckConstraint("total_amount > 0", name="total_amount_positive"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    credit_note_number: Mapped[str] = mapped_column(String(50), nullable=False, unique=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("invoices.id", name="fk_credit_notes_invoice_id_invoices"), nullable=False
    )
    customer_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("customers.id", name="fk_credit_notes_customer_id_customers"), nullable=False
    )
    issue_date: Mapped[date] = mapped_column(Date, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    tax_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False, server_default=text("0"))
    total_amount: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    accounting_transaction_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), comment=JOURNAL_ENTRY_REF)
    created_at: Mapped[datetime] = created_at_column()


class InvoiceNumberSequence(Base):
    """Gap-free invoice numbers: lock the year's row (SELECT ... FOR UPDATE), increment, commit."""

    __tablename__ = "invoice_number_sequences"
    __table_args__ = (CheckConstraint("last_number >= 0", name="last_number_non_negative"),)

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))


class CreditNoteNumberSequence(Base):
    """Gap-free credit note numbers, used like invoice_number_sequences."""

    __tablename__ = "credit_note_number_sequences"
    __table_args__ = (CheckConstraint("last_number >= 0", name="last_number_non_negative"),)

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))


# The CQRS read model (spec "CQRS"): a materialized view, created and refreshed with SQL, never
# by autogenerate. Refresh with `REFRESH MATERIALIZED VIEW CONCURRENTLY invoice_summary` (its
# unique index on id allows it); services/billing/read_model.py does so after billing writes.
views_metadata = MetaData()

INVOICE_SUMMARY = Table(
    "invoice_summary",
    views_metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("invoice_number", String(50), nullable=False),
    Column("customer_id", UUID(as_uuid=True), nullable=False),
    Column("customer_name", String(200), nullable=False),
    Column("total_amount", Numeric(12, 2), nullable=False),
    Column("paid_amount", Numeric(12, 2), nullable=False),
    Column("status", String(20), nullable=False),
    Column("due_date", Date, nullable=False),  # since billing_0002: overdue is derived at read time
    Column("line_item_count", BigInteger, nullable=False),
    info={"is_view": True},
)


class _ViewBase(DeclarativeBase):
    metadata = views_metadata


class InvoiceSummaryRow(_ViewBase):
    """Read-only mapping of the invoice_summary view (queries only; never added to a session)."""

    __table__ = INVOICE_SUMMARY

    id: Mapped[uuid.UUID]
    invoice_number: Mapped[str]
    customer_id: Mapped[uuid.UUID]
    customer_name: Mapped[str]
    total_amount: Mapped[Decimal]
    paid_amount: Mapped[Decimal]
    status: Mapped[str]
    due_date: Mapped[date]
    line_item_count: Mapped[int]
