"""finance_db: budgets and their transactions, reports, the accounting cache (spec section 8).

Budget transactions and unattributed spend are derived from accounting's journal entries, one row
per expense line; `(journal_entry_id, journal_line_number)` is unique, so a posting applied twice
(redelivered or replayed under another event id) is charged once. `applied_journal_entries` (one
row per journal entry, finance_0002) is the gate in front of both the spend and the accounting
cache: an entry announced again (accounting re-announces a repeated posting under a new event id,
and announces a reversal twice: JournalEntryPosted and JournalEntryReversed) changes nothing.
Journal entries, accounts and departments live in other databases: those columns are logical
references, documented by a column comment (spec migration phase 1).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.runtime.tables import created_at_column, new_metadata, updated_at_column, uuid_pk

BUDGET_STATUSES = ("active", "exceeded", "closed")
REPORT_TYPES = ("income_statement", "balance_sheet", "cash_flow")
ACCOUNT_TYPES = ("asset", "liability", "equity", "revenue", "expense")
UNATTRIBUTED_REASONS = ("no_department", "no_matching_budget")

DEPARTMENT_REF = "Logical reference to Employee Service - departments.name"
JOURNAL_ENTRY_REF = "Logical reference to Accounting Service - journal_entries.id"
ACCOUNT_REF = "Logical reference to Accounting Service - chart_of_accounts.account_code"


class Base(DeclarativeBase):
    metadata = new_metadata()


class Budget(Base):
    __tablename__ = "budgets"
    __table_args__ = (
        Index("idx_budgets_department", "department"),
        Index("idx_budgets_fiscal_year", "fiscal_year"),
        Index("idx_budgets_status", "status"),
        # One budget per department, year, quarter (NULL = annual) and category.
        UniqueConstraint("department", "fiscal_year", "quarter", "category", postgresql_nulls_not_distinct=True),
        CheckConstraint(f"status IN {BUDGET_STATUSES}", name="status_known"),
        CheckConstraint("quarter IS NULL OR quarter IN (1, 2, 3, 4)", name="quarter_known"),
        CheckConstraint("allocated_amount >= 0", name="allocated_amount_non_negative"),
        CheckConstraint(
            "remaining_amount = allocated_amount - spent_amount", name="remaining_is_allocated_minus_spent"
        ),
        CheckConstraint("end_date >= start_date", name="end_on_or_after_start"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    department: Mapped[str] = mapped_column(String(100), nullable=False, comment=DEPARTMENT_REF)
    fiscal_year: Mapped[int] = mapped_column(Integer, nullable=False)
    quarter: Mapped[int | None] = mapped_column(Integer, comment="1, 2, 3, 4 or NULL for an annual budget")
    category: Mapped[str] = mapped_column(String(100), nullable=False)
    allocated_amount: Mapped[Decimal] = mapped_column(Numeric(15, 2), nullable=False)
    spent_amount: Mapped[Decimal] = mapped_column(Numeric(15, 2), nullable=False, server_default=text("0"))
    remaining_amount: Mapped[Decimal] = mapped_column(Numeric(15, 2), nullable=False)
    utilization_percentage: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False, server_default=text("0"))
    status: Mapped[str] = mapped_column(String(20), nullable=False, server_default=text("'active'"))
    start_date: Mapped[date] = mapped_column(Date, nullable=False)
    end_date: Mapped[date] = mapped_column(Date, nullable=False)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("1"))


class BudgetTransaction(Base):
    __tablename__ = "budget_transactions"
    __table_args__ = (
        Index("idx_budget_txn_budget", "budget_id"),
        Index("idx_budget_txn_date", "transaction_date"),
        # Idempotency: one transaction per journal entry line.
        UniqueConstraint("journal_entry_id", "journal_line_number"),
        CheckConstraint("journal_line_number >= 1", name="journal_line_number_positive"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    budget_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("budgets.id", name="fk_budget_transactions_budget_id_budgets"), nullable=False
    )
    transaction_date: Mapped[date] = mapped_column(Date, nullable=False)
    amount: Mapped[Decimal] = mapped_column(Numeric(15, 2), nullable=False, comment="Negative for a reversal")
    description: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(100))
    source_service: Mapped[str | None] = mapped_column(String(50))
    journal_entry_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, comment=JOURNAL_ENTRY_REF)
    journal_line_number: Mapped[int] = mapped_column(Integer, nullable=False)
    account_code: Mapped[str | None] = mapped_column(String(20), comment=ACCOUNT_REF)
    created_at: Mapped[datetime] = created_at_column()


class UnattributedSpend(Base):
    __tablename__ = "unattributed_spend"
    __table_args__ = (
        Index("idx_unattributed_spend_date", "transaction_date"),
        Index("idx_unattributed_spend_department", "department"),
        # Idempotency: one row per journal entry line.
        UniqueConstraint("journal_entry_id", "journal_line_number"),
        CheckConstraint(f"reason IN {UNATTRIBUTED_REASONS}", name="reason_known"),
        CheckConstraint("journal_line_number >= 1", name="journal_line_number_positive"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    journal_entry_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False, comment=JOURNAL_ENTRY_REF)
    journal_line_number: Mapped[int] = mapped_column(Integer, nullable=False)
    journal_number: Mapped[str] = mapped_column(String(50), nullable=False)
    transaction_date: Mapped[date] = mapped_column(Date, nullable=False)
    account_code: Mapped[str] = mapped_column(String(20), nullable=False, comment=ACCOUNT_REF)
    amount: Mapped[Decimal] = mapped_column(Numeric(15, 2), nullable=False, comment="Negative for a reversal")
    department: Mapped[str | None] = mapped_column(String(100))
    category: Mapped[str | None] = mapped_column(String(100))
    source_service: Mapped[str | None] = mapped_column(String(50))
    reference: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(30), nullable=False)
    created_at: Mapped[datetime] = created_at_column()


class FinancialReport(Base):
    __tablename__ = "financial_reports"
    __table_args__ = (
        Index("idx_reports_type", "report_type"),
        Index("idx_reports_period", "period_start", "period_end"),
        CheckConstraint(f"report_type IN {REPORT_TYPES}", name="report_type_known"),
        CheckConstraint("period_end >= period_start", name="period_end_on_or_after_start"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    report_type: Mapped[str] = mapped_column(String(50), nullable=False)
    period_start: Mapped[date] = mapped_column(Date, nullable=False)
    period_end: Mapped[date] = mapped_column(Date, nullable=False)
    report_data: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    generated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class AccountingCacheEntry(Base):
    __tablename__ = "accounting_data_cache"
    __table_args__ = (
        Index("idx_accounting_cache_code", "account_code"),
        Index("idx_accounting_cache_date", "as_of_date"),
        UniqueConstraint("account_code", "as_of_date"),
        CheckConstraint(f"account_type IN {ACCOUNT_TYPES}", name="account_type_known"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    account_code: Mapped[str] = mapped_column(String(20), nullable=False, comment=ACCOUNT_REF)
    account_name: Mapped[str] = mapped_column(String(200), nullable=False)
    account_type: Mapped[str] = mapped_column(String(50), nullable=False)
    balance: Mapped[Decimal] = mapped_column(Numeric(15, 2), nullable=False)
    as_of_date: Mapped[date] = mapped_column(Date, nullable=False)
    last_synced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class AppliedJournalEntry(Base):
    __tablename__ = "applied_journal_entries"
    __table_args__ = (
        Index("idx_applied_journal_entries_date", "entry_date"),
        {"comment": "Journal entries whose spend and balance deltas finance has applied (idempotency)"},
    )

    journal_entry_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, comment=JOURNAL_ENTRY_REF)
    journal_number: Mapped[str] = mapped_column(String(50), nullable=False)
    entry_date: Mapped[date] = mapped_column(Date, nullable=False)
    source_service: Mapped[str | None] = mapped_column(String(50))
    reversal_of_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), comment=JOURNAL_ENTRY_REF)
    applied_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
