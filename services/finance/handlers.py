"""What finance does on accounting's events: charge spending to budgets and keep the accounting
cache (spend.py), keep cached account names.

JournalEntryPosted announces every entry, reversing entries included (reversal_of_id set);
JournalEntryReversed announces the same reversing entry once more. Both become the same
`PostedEntry` (keyed by the reversing entry's id), so whichever arrives first applies it and the
other changes nothing. A malformed event (ids that are not UUIDs, no date) is ignored with a
result saying why, never retried forever.
"""

from __future__ import annotations

from typing import Any

from erp.accounting.v1 import events_pb2 as acc_ev
from google.protobuf.internal.containers import RepeatedCompositeFieldContainer

from services.finance import cache, domain, spend
from services.finance.mapping import ACCOUNT_TYPE_FROM_PB
from services.runtime.consumer import Handler
from services.runtime.context import parse_uuid
from services.runtime.convert import date_from_pb, decimal_from_pb
from services.runtime.db import UnitOfWork
from services.runtime.errors import InvalidArgument
from services.runtime.events import ReceivedEvent
from services.runtime.service import ServiceDeps

JOURNAL_ENTRY_POSTED = "erp.accounting.v1.JournalEntryPosted"
JOURNAL_ENTRY_REVERSED = "erp.accounting.v1.JournalEntryReversed"
ACCOUNT_UPDATED = "erp.accounting.v1.AccountUpdated"


def _lines(lines: RepeatedCompositeFieldContainer[acc_ev.PostedJournalLine]) -> tuple[domain.PostedLine, ...]:
    out = []
    for line in lines:
        debit = decimal_from_pb(line.debit_amount, "debit_amount", required=False) or domain.ZERO
        credit = decimal_from_pb(line.credit_amount, "credit_amount", required=False) or domain.ZERO
        out.append(
            domain.PostedLine(
                line_number=line.line_number,
                account_code=line.account_code,
                account_type=ACCOUNT_TYPE_FROM_PB.get(line.account_type, ""),
                debit=debit,
                credit=credit,
                description=line.description,
            )
        )
    return tuple(out)


def entry_from_posted(msg: acc_ev.JournalEntryPosted) -> domain.PostedEntry:
    entry_id = parse_uuid(msg.journal_entry_id)
    entry_date = date_from_pb(msg.entry_date, "entry_date")
    if entry_id is None or entry_date is None:
        raise InvalidArgument.field("journal_entry_id", "is not a UUID")
    return domain.PostedEntry(
        journal_entry_id=entry_id,
        journal_number=msg.journal_number,
        entry_date=entry_date,
        source_service=msg.source_service,
        reference=msg.reference,
        department=msg.department.strip() or None,
        description=msg.description,
        lines=_lines(msg.lines),
        reversal_of_id=parse_uuid(msg.reversal_of_id),
        is_closing=msg.is_closing,
    )


def entry_from_reversed(msg: acc_ev.JournalEntryReversed) -> domain.PostedEntry:
    """The reversing entry that JournalEntryReversed describes."""
    entry_id = parse_uuid(msg.reversal_entry_id)
    original_id = parse_uuid(msg.journal_entry_id)
    entry_date = date_from_pb(msg.reversal_date, "reversal_date")
    if entry_id is None or original_id is None or entry_date is None:
        raise InvalidArgument.field("reversal_entry_id", "is not a UUID")
    return domain.PostedEntry(
        journal_entry_id=entry_id,
        journal_number=msg.reversal_journal_number,
        entry_date=entry_date,
        source_service=msg.source_service,
        reference=msg.journal_number,
        department=msg.department.strip() or None,
        description=f"Reversal of {msg.journal_number}: {msg.reason}",
        lines=_lines(msg.lines),
        reversal_of_id=original_id,
    )


def handlers(deps: ServiceDeps) -> dict[str, Handler]:
    async def on_posted(uow: UnitOfWork, event: ReceivedEvent) -> dict[str, Any]:
        assert isinstance(event.message, acc_ev.JournalEntryPosted)
        try:
            entry = entry_from_posted(event.message)
        except InvalidArgument as exc:
            return {"ignored": exc.message}
        return await spend.apply_entry(uow, entry, deps.clock.now())

    async def on_reversed(uow: UnitOfWork, event: ReceivedEvent) -> dict[str, Any]:
        assert isinstance(event.message, acc_ev.JournalEntryReversed)
        try:
            entry = entry_from_reversed(event.message)
        except InvalidArgument as exc:
            return {"ignored": exc.message}
        return await spend.apply_entry(uow, entry, deps.clock.now())

    async def on_account_updated(uow: UnitOfWork, event: ReceivedEvent) -> dict[str, Any] | None:
        msg = event.message
        assert isinstance(msg, acc_ev.AccountUpdated)
        if not msg.HasField("account_name") or not msg.account_code:
            return None
        return {"renamed_rows": await cache.rename(uow.session, msg.account_code, msg.account_name)}

    return {
        JOURNAL_ENTRY_POSTED: on_posted,
        JOURNAL_ENTRY_REVERSED: on_reversed,
        ACCOUNT_UPDATED: on_account_updated,
    }
