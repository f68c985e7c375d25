"""accounting_db: chart of accounts, journal entries and lines, the general ledger, fiscal
periods and journal number sequences (spec section 3, plus what a real ledger needs).

Everything referenced here lives in this database, so references are real foreign keys.
The migration adds what SQLAlchemy cannot declare: the deferred balance trigger, the
immutability triggers of posted entries and the period check (see migrations/).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID, ExcludeConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.runtime.tables import created_at_column, new_metadata, updated_at_column, uuid_pk

ACCOUNT_TYPES = ("asset", "liability", "equity", "revenue", "expense")
ENTRY_STATUSES = ("draft", "posted", "reversed")
PERIOD_STATUSES = ("open", "closed")
MONEY = Numeric(15, 2)
SOURCE_ID_COMMENT = "Logical reference to the source object in source_service (payroll record, invoice, ...)"
USER_COMMENT = "Logical reference to the calling user (erp-user-id); no foreign key"


class Base(DeclarativeBase):
    metadata = new_metadata()


class Account(Base):
    __tablename__ = "chart_of_accounts"
    __table_args__ = (
        Index("idx_accounts_code", "account_code"),
        Index("idx_accounts_type", "account_type"),
        Index("idx_accounts_parent", "parent_account_code"),
        CheckConstraint(f"account_type IN {ACCOUNT_TYPES}", name="account_type_known"),
        CheckConstraint("parent_account_code IS DISTINCT FROM account_code", name="not_own_parent"),
        CheckConstraint("account_code <> ''", name="code_not_empty"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    account_code: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    account_name: Mapped[str] = mapped_column(String(200), nullable=False)
    account_type: Mapped[str] = mapped_column(String(50), nullable=False)
    parent_account_code: Mapped[str | None] = mapped_column(
        String(20),
        ForeignKey("chart_of_accounts.account_code", name="fk_chart_of_accounts_parent_account_code"),
    )
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class FiscalPeriod(Base):
    __tablename__ = "fiscal_periods"
    __table_args__ = (
        UniqueConstraint("fiscal_year", "period_number", name="uq_fiscal_periods_year_number"),
        ExcludeConstraint(
            (func.daterange(text("start_date"), text("end_date"), text("'[]'")), "&&"),
            name="ex_fiscal_periods_no_overlap",
            using="gist",
        ),
        Index("idx_fiscal_periods_dates", "start_date", "end_date"),
        CheckConstraint("period_number BETWEEN 1 AND 12", name="period_number_range"),
        CheckConstraint("end_date >= start_date", name="end_after_start"),
        CheckConstraint(f"status IN {PERIOD_STATUSES}", name="status_known"),
        CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_has_time"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    fiscal_year: Mapped[int] = mapped_column(Integer, nullable=False)
    period_number: Mapped[int] = mapped_column(Integer, nullable=False)
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default=text("'open'"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), comment=USER_COMMENT)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class JournalSequence(Base):
    """The last journal number issued per year; its row is locked by each posting (gap-free)."""

    __tablename__ = "journal_sequences"
    __table_args__ = (CheckConstraint("last_number >= 0", name="last_number_not_negative"),)

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(Integer, nullable=False)


class JournalEntry(Base):
    __tablename__ = "journal_entries"
    __table_args__ = (
        Index("idx_journal_number", "journal_number"),
        Index("idx_journal_date", "entry_date", "journal_number"),
        Index("idx_journal_source", "source_service", "source_id"),
        Index("idx_journal_department", "department"),
        CheckConstraint(f"status IN {ENTRY_STATUSES}", name="status_known"),
        CheckConstraint("total_debit = total_credit", name="totals_equal"),
        CheckConstraint("total_debit > 0", name="totals_positive"),
        CheckConstraint("(status = 'reversed') = (reversed_by_id IS NOT NULL)", name="reversed_has_reversal"),
        CheckConstraint("status = 'draft' OR posted_at IS NOT NULL", name="posted_has_time"),
        CheckConstraint("reversal_of_id IS DISTINCT FROM id", name="not_own_reversal"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    journal_number: Mapped[str] = mapped_column(String(50), nullable=False, unique=True)
    entry_date: Mapped[date] = mapped_column(Date, nullable=False)
    fiscal_period_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("fiscal_periods.id", name="fk_journal_entries_fiscal_period_id"), nullable=False
    )
    description: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(100))
    source_service: Mapped[str | None] = mapped_column(String(50))
    source_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), comment=SOURCE_ID_COMMENT)
    total_debit: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    total_credit: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default=text("'posted'"))
    posted_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), comment=USER_COMMENT)
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reversal_of_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("journal_entries.id", name="fk_journal_entries_reversal_of_id"),
        unique=True,
    )
    reversed_by_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("journal_entries.id", name="fk_journal_entries_reversed_by_id")
    )
    department: Mapped[str | None] = mapped_column(String(100))
    posting_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    is_closing: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    lines: Mapped[list[JournalEntryLine]] = relationship(
        order_by="JournalEntryLine.line_number", lazy="selectin", passive_deletes="all"
    )


class JournalEntryLine(Base):
    __tablename__ = "journal_entry_lines"
    __table_args__ = (
        UniqueConstraint("journal_entry_id", "line_number", name="uq_journal_entry_lines_entry_line"),
        Index("idx_journal_lines_entry", "journal_entry_id"),
        Index("idx_journal_lines_account", "account_code"),
        CheckConstraint("debit_amount >= 0", name="debit_not_negative"),
        CheckConstraint("credit_amount >= 0", name="credit_not_negative"),
        CheckConstraint("(debit_amount > 0) <> (credit_amount > 0)", name="one_side"),
        CheckConstraint("line_number >= 1", name="line_number_positive"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    journal_entry_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("journal_entries.id", ondelete="CASCADE", name="fk_journal_entry_lines_journal_entry_id"),
        nullable=False,
    )
    line_number: Mapped[int] = mapped_column(Integer, nullable=False)
    account_code: Mapped[str] = mapped_column(
        String(20),
        ForeignKey("chart_of_accounts.account_code", name="fk_journal_entry_lines_account_code"),
        nullable=False,
    )
    description: Mapped[str | None] = mapped_column(Text)
    debit_amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False, server_default=text("0"))
    credit_amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False, server_default=text("0"))
    created_at: Mapped[datetime] = created_at_column()


class LedgerRow(Base):
    """One row per posted journal line, with the account's balance after it (normal side).

    Ordered per account by (transaction_date, seq); seq is a posting sequence taken while the
    account is locked, so a back-dated posting slots in before the later rows it then adjusts.
    """

    __tablename__ = "general_ledger"
    __table_args__ = (
        Index("idx_ledger_account", "account_code", "transaction_date", "seq", unique=True),
        Index("idx_ledger_date", "transaction_date"),
        Index("idx_ledger_entry", "journal_entry_id"),
        CheckConstraint("debit_amount >= 0 AND credit_amount >= 0", name="amounts_not_negative"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=False), nullable=False, unique=True)
    account_code: Mapped[str] = mapped_column(
        String(20), ForeignKey("chart_of_accounts.account_code", name="fk_general_ledger_account_code"), nullable=False
    )
    transaction_date: Mapped[date] = mapped_column(Date, nullable=False)
    journal_entry_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("journal_entries.id", name="fk_general_ledger_journal_entry_id"), nullable=False
    )
    journal_line_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("journal_entry_lines.id", name="fk_general_ledger_journal_line_id"),
        nullable=False,
        unique=True,
    )
    description: Mapped[str | None] = mapped_column(Text)
    debit_amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False, server_default=text("0"))
    credit_amount: Mapped[Decimal] = mapped_column(MONEY, nullable=False, server_default=text("0"))
    running_balance: Mapped[Decimal] = mapped_column(MONEY, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
