"""The payroll run aggregate in the database: row locks, per-status counters, derived status.

A run keeps how many of its records are in each status, so its status (and failed_count) stay
current in O(1) per record transition, in the same transaction as the transition. Writers lock
runs before records (always in id order) so concurrent commands and saga events cannot deadlock.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, any_, cast, literal, select, update
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from services.payroll import domain
from services.payroll.domain import RecordStatus
from services.payroll.tables import PayrollRecord, PayrollRun
from services.runtime.repository import get_or_404


def counts(run: PayrollRun) -> dict[RecordStatus, int]:
    return {s: getattr(run, f"{s.value}_count") for s in domain.COUNTED_STATUSES}


def move(run: PayrollRun, old: str, new: RecordStatus, n: int, now: datetime) -> None:
    """Account for `n` records of the run having moved from `old` to `new`; re-derive the status."""
    if n == 0:
        return
    setattr(run, f"{old}_count", getattr(run, f"{old}_count") - n)
    setattr(run, f"{new.value}_count", getattr(run, f"{new.value}_count") + n)
    run.status = domain.run_status(run.approved_by is not None, counts(run)).value
    run.updated_at = now


async def lock_run(session: AsyncSession, run_id: uuid.UUID) -> PayrollRun:
    return await get_or_404(session, PayrollRun, run_id, "payroll run", lock=True)


async def lock_runs(session: AsyncSession, run_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, PayrollRun]:
    ids = sorted(set(run_ids))
    if not ids:
        return {}
    rows = (
        await session.execute(
            select(PayrollRun).where(PayrollRun.id.in_(ids)).order_by(PayrollRun.id).with_for_update()
        )
    ).scalars()
    return {r.id: r for r in rows}


def uuid_array(ids: list[uuid.UUID]) -> Any:
    """One array parameter (a run's 10,000+ ids would overflow a parameter list)."""
    return cast(literal(ids, ARRAY(UUID(as_uuid=True))), ARRAY(UUID(as_uuid=True)))


async def transition(
    session: AsyncSession,
    where: list[Any],
    target: RecordStatus,
    values: dict[str, Any],
    now: datetime,
    per_record: Mapping[uuid.UUID, Mapping[str, Any]] | None = None,
) -> list[PayrollRecord]:
    """Move every record matching `where` whose status allows it to `target` (one UPDATE), bump
    versions, and update the runs' counters (the caller has locked those runs). `per_record`
    adds values that differ by record (one more statement for all the moved records)."""
    sources = domain.sources_of(target)
    before = dict(
        (
            await session.execute(
                select(PayrollRecord.id, PayrollRecord.status)
                .where(*where, PayrollRecord.status.in_(sources))
                .with_for_update()
            )
        ).all()
    )
    if not before:
        return []
    result = await session.execute(
        update(PayrollRecord)
        .where(PayrollRecord.id == any_(uuid_array(list(before))), PayrollRecord.status.in_(sources))
        .values(status=target.value, version=PayrollRecord.version + 1, updated_at=now, **values)
        .returning(PayrollRecord),
        execution_options={"synchronize_session": False, "populate_existing": True},
    )
    rows = list(result.scalars())
    if per_record:
        await _set_each(session, rows, per_record)
    moved: Counter[tuple[uuid.UUID, str]] = Counter((r.payroll_run_id, before[r.id]) for r in rows)
    runs = await lock_runs(session, {run_id for run_id, _ in moved})
    for (run_id, old), n in moved.items():
        move(runs[run_id], old, target, n, now)
    return rows


async def _set_each(
    session: AsyncSession, rows: list[PayrollRecord], per_record: Mapping[uuid.UUID, Mapping[str, Any]]
) -> None:
    """Per-record values of the moved records: one UPDATE by primary key for all of them, and
    the loaded objects told (without marking them changed)."""
    changes = [{"id": row.id, **per_record[row.id]} for row in rows if row.id in per_record]
    if not changes:
        return
    await session.execute(update(PayrollRecord), changes, execution_options={"synchronize_session": False})
    for row in rows:
        for key, value in per_record.get(row.id, {}).items():
            set_committed_value(row, key, value)


async def runs_of_records(session: AsyncSession, record_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Record id -> its run id, for the records that exist."""
    rows = await session.execute(
        select(PayrollRecord.id, PayrollRecord.payroll_run_id).where(
            PayrollRecord.id == any_(uuid_array(list(record_ids)))
        )
    )
    return {row[0]: row[1] for row in rows}
