"""Budget changes inside a unit of work: charging spend, closing. Each change recomputes the
derived amounts together (domain.figures), bumps the version and records its events in the
same transaction, so `spent`, `remaining`, `utilization` and `status` never disagree and
BudgetExceeded is recorded exactly once per crossing."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, or_, select

from services.finance import domain, mapping
from services.finance.tables import Budget
from services.runtime.db import UnitOfWork

AGGREGATE = "Budget"


def record_change(uow: UnitOfWork, row: Budget, old_status: str, changed: list[str]) -> None:
    """BudgetUpdated for `changed` (+ status), and BudgetExceeded when the status just became exceeded."""
    status_changed = row.status != old_status
    fields = [*changed, "status"] if status_changed else list(changed)
    uow.record(
        mapping.budget_updated(row, fields, status_changed),
        aggregate_type=AGGREGATE,
        aggregate_id=row.id,
        version=row.version,
    )
    if status_changed and row.status == domain.BudgetStatus.EXCEEDED:
        uow.record(mapping.budget_exceeded(row), aggregate_type=AGGREGATE, aggregate_id=row.id, version=row.version)


def charge(uow: UnitOfWork, row: Budget, amount: Decimal, now: datetime) -> None:
    """Add `amount` (negative for a reversal) to a locked, open budget's spending."""
    old_status = row.status
    mapping.set_figures(row, domain.figures(row.allocated_amount, row.spent_amount + amount, row.status))
    row.version += 1
    row.updated_at = now
    record_change(uow, row, old_status, ["spent_amount", "remaining_amount", "utilization_percentage"])


def close(uow: UnitOfWork, row: Budget, now: datetime) -> None:
    domain.ensure_open(row.status, row.id)
    row.status = domain.BudgetStatus.CLOSED.value
    row.version += 1
    row.updated_at = now
    uow.record(mapping.budget_closed(row), aggregate_type=AGGREGATE, aggregate_id=row.id, version=row.version)


async def lock_for_spend(
    uow: UnitOfWork, department: str | None, categories: Iterable[str], day: date, also: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Budget]:
    """Lock (in id order, so concurrent consumers cannot deadlock) every open budget of the
    department and categories whose period contains `day`, plus the budgets `also` names."""
    conditions: list[ColumnElement[bool]] = []
    cats = sorted(set(categories))
    if department and cats:
        conditions.append(
            (Budget.department == department)
            & Budget.category.in_(cats)
            & (Budget.status != domain.BudgetStatus.CLOSED.value)
            & (Budget.start_date <= day)
            & (Budget.end_date >= day)
        )
    ids = sorted(set(also))
    if ids:
        conditions.append(Budget.id.in_(ids))
    if not conditions:
        return {}
    stmt = select(Budget).where(or_(*conditions)).order_by(Budget.id).with_for_update()
    rows = (await uow.session.execute(stmt)).scalars().all()
    return {row.id: row for row in rows}


def choose(rows: Iterable[Budget], department: str, category: str, day: date) -> Budget | None:
    """The budget a spending of `category` dated `day` goes to (domain.choose_budget)."""
    fitting = {r.id: r for r in rows if r.department == department and r.category == category}
    chosen = domain.choose_budget(
        (domain.Candidate(r.id, r.quarter, r.start_date, r.end_date, r.status) for r in fitting.values()), day
    )
    return fitting[chosen] if chosen is not None else None


async def expired(uow: UnitOfWork, today: date, limit: int) -> list[Budget]:
    """Open budgets whose period ended before `today`, locked (rows others hold are skipped)."""
    stmt = (
        select(Budget)
        .where(Budget.status != domain.BudgetStatus.CLOSED.value, Budget.end_date < today)
        .order_by(Budget.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await uow.session.execute(stmt)).scalars().all())
