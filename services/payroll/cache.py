"""employee_cache writes: version-guarded upserts, partial updates from events, department renames.

Events may arrive reordered or duplicated. Every cached row carries the employee's version:
- a full row (EmployeeCreated, or a fetch from the employee service) replaces an older one;
- a partial event (EmployeeUpdated/Terminated/Rehired: only the changed values) is applied only
  when it is exactly the next version; an older one changes nothing, and a gap (an event skipped
  ahead) or a missing row is resolved by fetching the employee's current state with one
  BatchGetEmployees, so no change is ever lost to reordering.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Result, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.payroll.directory import EmployeeDirectory
from services.payroll.tables import EmployeeCache

UPSERT_CHUNK = 1000  # 12 columns x 1000 rows stays under PostgreSQL's 32767 parameters
CACHE_COLUMNS = (
    "first_name",
    "last_name",
    "email",
    "salary",
    "department",
    "department_id",
    "status",
    "hire_date",
    "termination_date",
    "employee_version",
    "last_synced_at",
)


def rowcount(result: Result[Any]) -> int:
    """Rows an INSERT/UPDATE statement wrote."""
    return max(cast(CursorResult[Any], result).rowcount, 0)


async def upsert(session: AsyncSession, rows: Sequence[dict[str, Any]], *, refresh_same_version: bool) -> int:
    """Insert or replace whole rows unless the cache holds a newer version; returns rows written.

    `refresh_same_version` also rewrites a row of the same version (a reload from the source of
    truth refreshes last_synced_at); events use strict "newer only"."""
    written = 0
    for i in range(0, len(rows), UPSERT_CHUNK):
        stmt = pg_insert(EmployeeCache).values(list(rows[i : i + UPSERT_CHUNK]))
        newer = (
            EmployeeCache.employee_version <= stmt.excluded.employee_version
            if refresh_same_version
            else EmployeeCache.employee_version < stmt.excluded.employee_version
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[EmployeeCache.employee_id],
            set_={c: stmt.excluded[c] for c in CACHE_COLUMNS},
            where=newer,
        )
        result = await session.execute(stmt)
        written += rowcount(result)
    return written


async def refresh(session: AsyncSession, directory: EmployeeDirectory, ids: Sequence[uuid.UUID], now: datetime) -> int:
    """Fetch the named employees from the employee service (one batch call) and cache them."""
    rows = await directory.batch_get(ids, now)
    return await upsert(session, rows, refresh_same_version=True) if rows else 0


async def apply_full(session: AsyncSession, row: dict[str, Any]) -> str:
    written = await upsert(session, [row], refresh_same_version=False)
    return "applied" if written else "stale"


async def apply_partial(
    session: AsyncSession,
    directory: EmployeeDirectory,
    employee_id: uuid.UUID,
    version: int,
    values: dict[str, Any],
    now: datetime,
) -> str:
    """Apply the changed values of one employee event (see the module doc for ordering)."""
    cached = (
        await session.execute(
            select(EmployeeCache.employee_version).where(EmployeeCache.employee_id == employee_id).with_for_update()
        )
    ).scalar_one_or_none()
    if cached is not None and version <= cached:
        return "stale"
    if cached is not None and version == cached + 1:
        await session.execute(
            update(EmployeeCache)
            .where(EmployeeCache.employee_id == employee_id)
            .values(**values, employee_version=version, last_synced_at=now)
        )
        return "applied"
    written = await refresh(session, directory, [employee_id], now)
    return "refetched" if written else "unknown employee"


async def rename_department(session: AsyncSession, department_id: uuid.UUID, name: str, now: datetime) -> int:
    result = await session.execute(
        update(EmployeeCache)
        .where(EmployeeCache.department_id == department_id, EmployeeCache.department.is_distinct_from(name))
        .values(department=name, last_synced_at=now)
    )
    return rowcount(result)
