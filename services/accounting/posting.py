"""Posting a journal entry: the one path every posting takes (the RPCs, the year-end close and
every event handler), inside the caller's unit of work.

Order of locks, the same for every posting so that concurrent postings never deadlock:
the posting key (advisory), the fiscal period (FOR SHARE), the accounts (FOR NO KEY UPDATE,
in code order), then the year's journal_sequences row (its upsert locks it until commit, so
numbers are gap-free: a rolled-back posting gives its number back).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounting import accounts, domain, ledger, mapping, periods
from services.accounting.tables import Account, JournalEntry, JournalEntryLine
from services.runtime.db import UnitOfWork
from services.runtime.errors import FieldViolation, InvalidArgument

NEXT_NUMBER = text(
    """
    INSERT INTO journal_sequences AS s (year, last_number) VALUES (:year, 1)
    ON CONFLICT (year) DO UPDATE SET last_number = s.last_number + 1
    RETURNING last_number
    """
)
LOCK_KEY = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


@dataclass(frozen=True)
class Posting:
    """A posted entry, the types of its accounts, and whether it existed before (same key)."""

    entry: JournalEntry
    account_types: dict[str, str]
    duplicate: bool = False


async def post_entry(uow: UnitOfWork, draft: domain.Draft, *, now: datetime) -> Posting:
    """Validate and post `draft`, update the ledger and record JournalEntryPosted.

    Raises InvalidArgument (bad lines, unbalanced, unknown account) or FailedPrecondition
    (closed period, inactive account) before writing anything that matters; the caller's
    transaction (or savepoint) is then rolled back. When the draft's posting_key was posted
    already, nothing new is written and JournalEntryPosted is recorded again for that entry."""
    domain.check_draft(draft)
    session = uow.session
    if draft.posting_key is not None:
        await session.execute(LOCK_KEY, {"key": draft.posting_key})
        existing = await by_posting_key(session, draft.posting_key)
        if existing is not None:
            types = await account_types_of(session, existing)
            _record_posted(uow, existing, types)
            return Posting(existing, types, duplicate=True)
    period = await periods.open_period_for(session, draft.entry_date, now)
    locked = await accounts.lock_for_posting(session, [line.account_code for line in draft.lines])
    _check_accounts(draft, locked)
    number = await next_journal_number(session, draft.entry_date.year)
    total_debit, total_credit = domain.totals(draft.lines)
    entry = JournalEntry(
        id=uuid.uuid4(),
        journal_number=number,
        entry_date=draft.entry_date,
        fiscal_period_id=period.id,
        description=draft.description,
        reference=draft.reference,
        source_service=draft.source_service,
        source_id=draft.source_id,
        total_debit=total_debit,
        total_credit=total_credit,
        status=domain.EntryStatus.POSTED.value,
        posted_by=draft.posted_by,
        posted_at=now,
        reversal_of_id=draft.reversal_of_id,
        department=draft.department,
        posting_key=draft.posting_key,
        is_closing=draft.is_closing,
        created_at=now,
        updated_at=now,
        lines=[
            JournalEntryLine(
                id=uuid.uuid4(),
                line_number=i,
                account_code=line.account_code,
                description=line.description,
                debit_amount=line.debit,
                credit_amount=line.credit,
                created_at=now,
            )
            for i, line in enumerate(draft.lines, start=1)
        ],
    )
    session.add(entry)
    await session.flush()
    await ledger.append(session, entry, locked)
    types = {code: a.account_type for code, a in locked.items()}
    _record_posted(uow, entry, types)
    return Posting(entry, types)


def _check_accounts(draft: domain.Draft, locked: dict[str, Account]) -> None:
    missing = [
        FieldViolation(f"lines[{i}].account_code", f"account {line.account_code} does not exist")
        for i, line in enumerate(draft.lines)
        if line.account_code not in locked
    ]
    if missing:
        raise InvalidArgument.of(missing)
    if not draft.allow_inactive_accounts:
        for code in sorted(locked):
            domain.ensure_postable(code, locked[code].account_name, locked[code].is_active)


def _record_posted(uow: UnitOfWork, entry: JournalEntry, types: dict[str, str]) -> None:
    uow.record(mapping.journal_entry_posted(entry, types), aggregate_type="JournalEntry", aggregate_id=entry.id)


async def next_journal_number(session: AsyncSession, year: int) -> str:
    """JE-<year>-<6 digits>, gap-free: the year's row stays locked until this transaction ends."""
    number = (await session.execute(NEXT_NUMBER, {"year": year})).scalar_one()
    return domain.journal_number(year, int(number))


async def by_posting_key(session: AsyncSession, key: str) -> JournalEntry | None:
    stmt = select(JournalEntry).where(JournalEntry.posting_key == key)
    return (await session.execute(stmt)).scalar_one_or_none()


async def account_types_of(session: AsyncSession, *entries: JournalEntry) -> dict[str, str]:
    found = await accounts.by_codes(session, (line.account_code for e in entries for line in e.lines))
    return {code: a.account_type for code, a in found.items()}
