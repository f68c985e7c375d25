"""Posting a journal entry: the one path every posting takes (the RPCs, the year-end close and
every event handler), inside the caller's unit of work.

Order of locks, the same for every posting so that concurrent postings never deadlock:
the posting key (advisory), the fiscal period (FOR SHARE), the accounts (FOR NO KEY UPDATE,
in code order), then the year's journal_sequences row (its upsert locks it until commit, so
numbers are gap-free: a rolled-back posting gives its number back).

Four round trips per posting: the posting-key lock (with a key); the entry already posted under
the key together with the share-locked period (`EXISTING_AND_PERIOD`); the accounts; then ONE
statement (`WRITE`, `write_entries`) that takes the journal number, inserts the entry, all its
lines (one multi-row insert from arrays) and all its ledger rows with their running balances
(ledger.APPEND_CTES). The entry returned is built here from what was written, not read back.
posting_batch.py posts many entries with the same statements and the same lock order.
The database still checks everything, at the statement or at COMMIT (balance, open period,
immutability and append-only triggers).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounting import accounts, domain, ledger, mapping, periods
from services.accounting.entry_data import EntryData, NewEntry, NewLine
from services.accounting.tables import Account, JournalEntry
from services.runtime.db import UnitOfWork
from services.runtime.errors import FieldViolation, InvalidArgument

LOCK_KEY = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")
# The entry already posted under a posting key (none without a key) and the fiscal period
# covering the day, share-locked (as periods.open_period_for, which creates a missing one).
EXISTING_AND_PERIOD = text(
    """
    SELECT (SELECT e.id FROM journal_entries e WHERE e.posting_key = CAST(:key AS text)) AS existing_id,
           p.id AS period_id, p.status, p.fiscal_year, p.period_number
    FROM (VALUES (1)) AS one(x)
    LEFT JOIN LATERAL (
        SELECT id, status, fiscal_year, period_number
        FROM fiscal_periods
        WHERE start_date <= CAST(:day AS date) AND end_date >= CAST(:day AS date)
        FOR SHARE
    ) p ON true
    """
)

# The entries of one year, numbered in order: the year's journal_sequences row moves on by their
# count, each number formatted as domain.journal_number does (`JE-<year>-<n, 6 digits at least>`;
# write_entries checks the two agree); then all their lines (one multi-row insert from arrays)
# and all their ledger rows with running balances (ledger.APPEND_CTES).
WRITE = text(
    f"""
    WITH number AS (
        INSERT INTO journal_sequences AS s (year, last_number) VALUES (CAST(:year AS integer), CAST(:count AS bigint))
        ON CONFLICT (year) DO UPDATE SET last_number = s.last_number + CAST(:count AS bigint)
        RETURNING last_number
    ), entry AS (
        INSERT INTO journal_entries (
            id, journal_number, entry_date, fiscal_period_id, description, reference, source_service,
            source_id, total_debit, total_credit, status, posted_by, posted_at, reversal_of_id,
            department, posting_key, is_closing, created_at, updated_at
        )
        SELECT e.id,
               CAST(:number_prefix AS text)
                 || lpad(CAST(n.last_number - :count + e.ord AS text),
                         greatest(6, length(CAST(n.last_number - :count + e.ord AS text))), '0'),
               e.day, e.period_id, e.description, e.reference, e.source_service, e.source_id,
               e.total_debit, e.total_credit, CAST(:status AS text), e.posted_by, CAST(:now AS timestamptz),
               e.reversal_of_id, e.department, e.posting_key, e.is_closing,
               CAST(:now AS timestamptz), CAST(:now AS timestamptz)
        FROM number n, unnest(
            CAST(:entry_ids AS uuid[]), CAST(:days AS date[]), CAST(:period_ids AS uuid[]),
            CAST(:descriptions AS text[]), CAST(:references AS text[]), CAST(:source_services AS text[]),
            CAST(:source_ids AS uuid[]), CAST(:total_debits AS numeric[]), CAST(:total_credits AS numeric[]),
            CAST(:posted_bys AS uuid[]), CAST(:reversal_of_ids AS uuid[]), CAST(:departments AS text[]),
            CAST(:posting_keys AS text[]), CAST(:closings AS boolean[])
        ) WITH ORDINALITY AS e(
            id, day, period_id, description, reference, source_service, source_id, total_debit, total_credit,
            posted_by, reversal_of_id, department, posting_key, is_closing, ord
        )
        RETURNING id, journal_number
    ), lines AS (
        INSERT INTO journal_entry_lines (
            id, journal_entry_id, line_number, account_code, description, debit_amount, credit_amount, created_at
        )
        SELECT l.id, l.entry_id, l.line_number, l.account_code, l.description, l.debit, l.credit,
               CAST(:now AS timestamptz)
        FROM unnest(
            CAST(:gl_line_ids AS uuid[]), CAST(:gl_entry_ids AS uuid[]), CAST(:line_numbers AS integer[]),
            CAST(:gl_accounts AS text[]), CAST(:line_descriptions AS text[]), CAST(:gl_debits AS numeric[]),
            CAST(:gl_credits AS numeric[])
        ) AS l(id, entry_id, line_number, account_code, description, debit, credit)
    ), {ledger.APPEND_CTES.strip()}
    SELECT entry.id, entry.journal_number, number.last_number FROM entry, number
    """
)


@dataclass(frozen=True)
class Posting:
    """A posted entry, the types of its accounts, and whether it existed before (same key)."""

    entry: EntryData
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
    # After the key's lock (a statement of its own, so this one's snapshot sees a posting that
    # held the lock before us): the entry already posted under the key, and the period locked.
    found = (await session.execute(EXISTING_AND_PERIOD, {"key": draft.posting_key, "day": draft.entry_date})).one()
    if found.existing_id is not None:
        existing = (
            await session.execute(select(JournalEntry).where(JournalEntry.id == found.existing_id))
        ).scalar_one()
        types = await account_types_of(session, existing)
        record_posted(uow, existing, types)
        return Posting(existing, types, duplicate=True)
    if found.period_id is None:  # no period covers the day yet: create its month's
        period_id = (await periods.open_period_for(session, draft.entry_date, now)).id
    else:
        domain.ensure_period_open(found.status, found.fiscal_year, found.period_number)
        period_id = found.period_id
    locked = await accounts.lock_for_posting(session, [line.account_code for line in draft.lines])
    check_accounts(draft, locked)
    entry = new_entry(draft, period_id, now)
    await write_entries(session, [entry], locked)
    types = {code: a.account_type for code, a in locked.items()}
    record_posted(uow, entry, types, first=True)
    return Posting(entry, types)


def new_entry(draft: domain.Draft, period_id: uuid.UUID, now: datetime) -> NewEntry:
    """The entry `draft` becomes (write_entries writes it and sets its journal number)."""
    entry_id = uuid.uuid4()
    total_debit, total_credit = domain.totals(draft.lines)
    return NewEntry(
        id=entry_id,
        journal_number="",
        entry_date=draft.entry_date,
        fiscal_period_id=period_id,
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
        reversed_by_id=None,
        department=draft.department,
        posting_key=draft.posting_key,
        is_closing=draft.is_closing,
        created_at=now,
        updated_at=now,
        lines=[
            NewLine(
                id=uuid.uuid4(),
                journal_entry_id=entry_id,
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


async def write_entries(session: AsyncSession, entries: Sequence[NewEntry], locked: Mapping[str, Account]) -> None:
    """Write new entries, their lines and ledger rows (`WRITE`, one statement per year), numbered
    in the given order; sets each entry's journal_number. The accounts must be locked."""
    years: dict[int, list[NewEntry]] = {}
    for entry in entries:
        years.setdefault(entry.entry_date.year, []).append(entry)
    for year, group in years.items():
        params = ledger.append_params(group, locked)
        lines = [line for entry in group for line in entry.lines]
        params.update(
            {
                "year": year,
                "count": len(group),
                "number_prefix": f"JE-{year}-",
                "status": domain.EntryStatus.POSTED.value,
                "now": group[0].posted_at,
                "entry_ids": [e.id for e in group],
                "days": [e.entry_date for e in group],
                "period_ids": [e.fiscal_period_id for e in group],
                "descriptions": [e.description for e in group],
                "references": [e.reference for e in group],
                "source_services": [e.source_service for e in group],
                "source_ids": [e.source_id for e in group],
                "total_debits": [e.total_debit for e in group],
                "total_credits": [e.total_credit for e in group],
                "posted_bys": [e.posted_by for e in group],
                "reversal_of_ids": [e.reversal_of_id for e in group],
                "departments": [e.department for e in group],
                "posting_keys": [e.posting_key for e in group],
                "closings": [e.is_closing for e in group],
                "line_numbers": [line.line_number for line in lines],
                "line_descriptions": [line.description for line in lines],
            }
        )
        rows = (await session.execute(WRITE, params)).all()
        numbers = {row.id: row.journal_number for row in rows}
        first = int(rows[0].last_number) - len(group) + 1
        for i, entry in enumerate(group):
            entry.journal_number = numbers[entry.id]
            if entry.journal_number != domain.journal_number(year, first + i):  # the SQL format drifted
                raise AssertionError(
                    f"journal number {entry.journal_number} != {domain.journal_number(year, first + i)}"
                )


def check_accounts(draft: domain.Draft, locked: dict[str, Account]) -> None:
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


def record_posted(uow: UnitOfWork, entry: EntryData, types: dict[str, str], *, first: bool = False) -> None:
    """JournalEntryPosted; a new entry's is the first event of its aggregate (version 1, no
    look-up), a re-announcement takes the next version."""
    uow.record(
        mapping.journal_entry_posted(entry, types),
        aggregate_type="JournalEntry",
        aggregate_id=entry.id,
        version=1 if first else None,
    )


async def by_posting_key(session: AsyncSession, key: str) -> JournalEntry | None:
    stmt = select(JournalEntry).where(JournalEntry.posting_key == key)
    return (await session.execute(stmt)).scalar_one_or_none()


async def account_types_of(session: AsyncSession, *entries: JournalEntry) -> dict[str, str]:
    found = await accounts.by_codes(session, (line.account_code for e in entries for line in e.lines))
    return {code: a.account_type for code, a in found.items()}
