"""Posting many requested entries at once (a consumer's batch of PayrollProcessed, say).

The same rules and the same lock order as posting.post_entry, with a fixed number of
statements for the whole batch instead of four per entry: the posting keys (advisory, in hash
order), the entries already posted under them, the share-locked periods of the entry dates,
the accounts of every draft (code order), then `write_entries` (one statement per year).

Only the plain case is posted here: a new key, an open period (the month's is created when no
period covers the day, as post_entry does), existing active accounts, a draft that passes
domain.check_draft. Anything else (a key posted before or twice in the batch, a closed period,
an unknown or inactive account, a bad draft) is answered None and left to post_entry, which
posts, re-announces or rejects it exactly as it would alone; the locks taken here cover what it
will lock again, so it waits for nothing new.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounting import accounts, domain, periods
from services.accounting.entry_data import NewEntry
from services.accounting.posting import Posting, check_accounts, new_entry, record_posted, write_entries
from services.accounting.tables import Account
from services.runtime.db import UnitOfWork
from services.runtime.errors import DomainError

LOCK_KEYS = text(
    "SELECT count(pg_advisory_xact_lock(h)) FROM ("
    " SELECT hashtextextended(k, 0) AS h FROM unnest(CAST(:keys AS text[])) AS k ORDER BY 1"
    ") AS ordered"
)
POSTED_KEYS = text("SELECT posting_key FROM journal_entries WHERE posting_key = ANY(CAST(:keys AS text[]))")
# The period covering each day (id NULL where none does), share-locked as in
# posting.EXISTING_AND_PERIOD.
PERIODS = text(
    """
    SELECT d.day, p.id, p.status
    FROM unnest(CAST(:days AS date[])) AS d(day)
    LEFT JOIN LATERAL (
        SELECT id, status
        FROM fiscal_periods
        WHERE start_date <= d.day AND end_date >= d.day
        FOR SHARE
    ) p ON true
    """
)


async def post_many(items: Sequence[tuple[UnitOfWork, domain.Draft | None]], *, now: datetime) -> list[Posting | None]:
    """Post the plain drafts (their JournalEntryPosted recorded in their own unit of work);
    None for a missing draft and for every draft left to post_entry."""
    drafts = [draft for _, draft in items if draft is not None]
    if not drafts:
        return [None] * len(items)
    session = items[0][0].session
    keys = sorted({d.posting_key for d in drafts if d.posting_key is not None})
    await session.execute(LOCK_KEYS, {"keys": keys})
    taken = {row[0] for row in await session.execute(POSTED_KEYS, {"keys": keys})}
    open_periods = await _open_periods(session, {d.entry_date for d in drafts}, now)
    locked = await accounts.lock_for_posting(session, [line.account_code for d in drafts for line in d.lines])
    entries: list[NewEntry | None] = []
    for _, draft in items:
        entry = None
        if draft is not None and _plain(draft, taken, open_periods, locked):
            assert draft.posting_key is not None
            taken.add(draft.posting_key)
            entry = new_entry(draft, open_periods[draft.entry_date], now)
        entries.append(entry)
    await write_entries(session, [e for e in entries if e is not None], locked)
    postings: list[Posting | None] = []
    for (uow, _), entry in zip(items, entries, strict=True):
        if entry is None:
            postings.append(None)
            continue
        types = {line.account_code: locked[line.account_code].account_type for line in entry.lines}
        record_posted(uow, entry, types, first=True)
        postings.append(Posting(entry, types))
    return postings


async def _open_periods(session: AsyncSession, days: set[date], now: datetime) -> dict[date, uuid.UUID]:
    """The open period of each day; the month's period is created for a day none covers (as
    periods.open_period_for does), so the first batch of a new month is posted here too."""
    found = list(await session.execute(PERIODS, {"days": sorted(days)}))
    missing = [row.day for row in found if row.id is None]
    if missing:
        await periods.create_missing(session, list({domain.month_period(day): None for day in sorted(missing)}), now)
        found = list(await session.execute(PERIODS, {"days": sorted(days)}))
    return {row.day: row.id for row in found if row.status == domain.PeriodStatus.OPEN}


def _plain(draft: domain.Draft, taken: set[str], periods: dict[date, uuid.UUID], locked: dict[str, Account]) -> bool:
    if draft.posting_key is None or draft.posting_key in taken or draft.entry_date not in periods:
        return False
    try:
        domain.check_draft(draft)
        check_accounts(draft, locked)
    except DomainError:
        return False
    return True
