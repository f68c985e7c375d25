"""Queries behind the reports: per-account debit/credit totals (the arithmetic is in
statements.py). Balances at a date come from the general ledger; period figures (which can
be limited to a department and leave out year-end closing entries) from the journal."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounting.domain import ZERO, AccountTotals, EntryStatus
from services.accounting.tables import Account, JournalEntry, JournalEntryLine, LedgerRow

IN_LEDGER = (EntryStatus.POSTED.value, EntryStatus.REVERSED.value)


async def totals_as_of(
    session: AsyncSession, as_of: date, *, account_types: Iterable[str] | None = None
) -> list[AccountTotals]:
    """Every account's debits and credits from the beginning of the books to `as_of`."""
    debit = func.coalesce(func.sum(LedgerRow.debit_amount), ZERO)
    credit = func.coalesce(func.sum(LedgerRow.credit_amount), ZERO)
    stmt = (
        select(Account.account_code, Account.account_name, Account.account_type, debit, credit)
        .join(LedgerRow, LedgerRow.account_code == Account.account_code)
        .where(LedgerRow.transaction_date <= as_of)
        .group_by(Account.account_code, Account.account_name, Account.account_type)
    )
    if account_types is not None:
        stmt = stmt.where(Account.account_type.in_(list(account_types)))
    return [AccountTotals(*row) for row in await session.execute(stmt)]


async def totals_between(
    session: AsyncSession,
    start: date,
    end: date,
    *,
    account_types: Iterable[str],
    department: str | None = None,
    include_closing: bool = False,
) -> list[AccountTotals]:
    """Debits and credits of entries dated in [start, end], by account."""
    debit = func.coalesce(func.sum(JournalEntryLine.debit_amount), ZERO)
    credit = func.coalesce(func.sum(JournalEntryLine.credit_amount), ZERO)
    stmt = (
        select(Account.account_code, Account.account_name, Account.account_type, debit, credit)
        .join(JournalEntryLine, JournalEntryLine.account_code == Account.account_code)
        .join(JournalEntry, JournalEntry.id == JournalEntryLine.journal_entry_id)
        .where(
            JournalEntry.entry_date >= start,
            JournalEntry.entry_date <= end,
            JournalEntry.status.in_(IN_LEDGER),
            Account.account_type.in_(list(account_types)),
        )
        .group_by(Account.account_code, Account.account_name, Account.account_type)
    )
    if department is not None:
        stmt = stmt.where(JournalEntry.department == department)
    if not include_closing:
        stmt = stmt.where(JournalEntry.is_closing.is_(False))
    return [AccountTotals(*row) for row in await session.execute(stmt)]


async def account_totals(session: AsyncSession, code: str, as_of: date) -> tuple[Decimal, Decimal]:
    stmt = select(
        func.coalesce(func.sum(LedgerRow.debit_amount), ZERO), func.coalesce(func.sum(LedgerRow.credit_amount), ZERO)
    ).where(LedgerRow.account_code == code, LedgerRow.transaction_date <= as_of)
    debit, credit = (await session.execute(stmt)).one()
    return debit, credit


async def balance_before(session: AsyncSession, code: str, day: date) -> Decimal:
    """The account's running balance at the end of the day before `day`."""
    stmt = (
        select(LedgerRow.running_balance)
        .where(LedgerRow.account_code == code, LedgerRow.transaction_date < day)
        .order_by(LedgerRow.transaction_date.desc(), LedgerRow.seq.desc())
        .limit(1)
    )
    value = (await session.execute(stmt)).scalar_one_or_none()
    return value if value is not None else ZERO
