"""Applying one journal entry: its spending to budgets (or to unattributed spend) and its balance
deltas to the accounting cache, once.

The gate is `applied_journal_entries`: the first handler to insert the entry's row applies it; any
later announcement of the same entry (a redelivery, a re-announced posting under a new event id,
the JournalEntryReversed twin of a reversing entry's JournalEntryPosted) finds the row and changes
nothing. The unique (journal_entry_id, journal_line_number) keys of the line tables back this up.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.finance import budgets, cache, domain
from services.finance.tables import AppliedJournalEntry, Budget, BudgetTransaction, UnattributedSpend
from services.runtime.db import UnitOfWork


@dataclass(frozen=True)
class Origin:
    """Where a reversed line was charged: a budget, or unattributed spend for a reason."""

    budget_id: uuid.UUID | None
    reason: str | None


async def apply_entry(uow: UnitOfWork, entry: domain.PostedEntry, now: datetime) -> dict[str, Any]:
    if not await _claim(uow, entry):
        return {"journal_entry_id": str(entry.journal_entry_id), "already_applied": True}
    await cache.apply_deltas(uow.session, domain.balance_deltas(entry), entry.entry_date, now)
    lines = domain.spend_lines(entry)
    if not lines:
        return {"journal_entry_id": str(entry.journal_entry_id), "spend_lines": 0}
    origins = await _origins(uow, entry.reversal_of_id) if entry.reversal_of_id else {}
    locked = await budgets.lock_for_spend(
        uow,
        entry.department,
        {line.category for line in lines},
        entry.entry_date,
        {o.budget_id for o in origins.values() if o.budget_id is not None},
    )
    charged: dict[uuid.UUID, list[domain.SpendLine]] = defaultdict(list)
    unattributed: list[tuple[domain.SpendLine, str]] = []
    for line in lines:
        target, reason = _target(entry, line, origins.get(line.line_number), locked)
        if target is not None:
            charged[target.id].append(line)
        else:
            assert reason is not None
            unattributed.append((line, reason))
    for budget_id in sorted(charged):
        await _charge(uow, entry, locked[budget_id], charged[budget_id], now)
    if unattributed:
        await _unattributed(uow, entry, unattributed, now)
    return {
        "journal_entry_id": str(entry.journal_entry_id),
        "charged": {str(k): str(domain.sum_amounts([x.amount for x in v])) for k, v in charged.items()},
        "unattributed": len(unattributed),
    }


async def _claim(uow: UnitOfWork, entry: domain.PostedEntry) -> bool:
    claimed = await uow.session.execute(
        pg_insert(AppliedJournalEntry)
        .values(
            journal_entry_id=entry.journal_entry_id,
            journal_number=entry.journal_number[:50],
            entry_date=entry.entry_date,
            source_service=entry.source_service[:50] or None,
            reversal_of_id=entry.reversal_of_id,
        )
        .on_conflict_do_nothing(index_elements=["journal_entry_id"])
        .returning(AppliedJournalEntry.journal_entry_id)
    )
    return claimed.first() is not None


async def _origins(uow: UnitOfWork, original_id: uuid.UUID) -> dict[int, Origin]:
    """How the lines of the reversed entry were attributed, by line number (empty when unseen)."""
    out: dict[int, Origin] = {}
    charged = select(BudgetTransaction.journal_line_number, BudgetTransaction.budget_id).where(
        BudgetTransaction.journal_entry_id == original_id
    )
    for number, budget_id in await uow.session.execute(charged):
        out[number] = Origin(budget_id, None)
    loose = select(UnattributedSpend.journal_line_number, UnattributedSpend.reason).where(
        UnattributedSpend.journal_entry_id == original_id
    )
    for number, reason in await uow.session.execute(loose):
        out[number] = Origin(None, reason)
    return out


def _target(
    entry: domain.PostedEntry, line: domain.SpendLine, origin: Origin | None, locked: dict[uuid.UUID, Budget]
) -> tuple[Budget | None, str | None]:
    """(budget, None) to charge, or (None, reason) for unattributed spend."""
    if origin is not None:  # a reversal follows the original charge
        if origin.budget_id is None:
            return None, origin.reason or domain.Reason.NO_MATCHING_BUDGET.value
        row = locked.get(origin.budget_id)
        if row is None or row.status == domain.BudgetStatus.CLOSED:
            return None, domain.Reason.NO_MATCHING_BUDGET.value
        return row, None
    if not entry.department:
        return None, domain.Reason.NO_DEPARTMENT.value
    row = budgets.choose(locked.values(), entry.department, line.category, entry.entry_date)
    if row is None:
        return None, domain.Reason.NO_MATCHING_BUDGET.value
    return row, None


async def _charge(
    uow: UnitOfWork, entry: domain.PostedEntry, row: Budget, lines: list[domain.SpendLine], now: datetime
) -> None:
    await uow.session.execute(
        insert(BudgetTransaction),
        [
            {
                "id": uuid.uuid4(),
                "budget_id": row.id,
                "transaction_date": entry.entry_date,
                "amount": line.amount,
                "description": (line.description or entry.description or None),
                "reference": entry.journal_number[:100] or None,
                "source_service": entry.source_service[:50] or None,
                "journal_entry_id": entry.journal_entry_id,
                "journal_line_number": line.line_number,
                "account_code": line.account_code[:20],
                "created_at": now,
            }
            for line in lines
        ],
    )
    budgets.charge(uow, row, domain.sum_amounts([line.amount for line in lines]), now)


async def _unattributed(
    uow: UnitOfWork, entry: domain.PostedEntry, lines: list[tuple[domain.SpendLine, str]], now: datetime
) -> None:
    await uow.session.execute(
        insert(UnattributedSpend),
        [
            {
                "id": uuid.uuid4(),
                "journal_entry_id": entry.journal_entry_id,
                "journal_line_number": line.line_number,
                "journal_number": entry.journal_number[:50],
                "transaction_date": entry.entry_date,
                "account_code": line.account_code[:20],
                "amount": line.amount,
                "department": (entry.department or "")[:100] or None,
                "category": line.category,
                "source_service": entry.source_service[:50] or None,
                "reference": entry.reference[:100] or None,
                "reason": reason,
                "created_at": now,
            }
            for line, reason in lines
        ],
    )
