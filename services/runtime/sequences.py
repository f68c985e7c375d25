"""Gap-free per-year document numbers ("INV-2026-000001", "PO-2026-000042", ...).

Each service keeps a `<x>_sequences(year PRIMARY KEY, last_number >= 0)` table. The number is
taken with one upsert in the caller's transaction: the year's row stays locked until that
transaction ends, so a rolled-back document gives its number back and concurrent ones queue.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

NUMBER_DIGITS = 6


def format_number(prefix: str, year: int, number: int) -> str:
    """`<prefix>-<year>-<number, six digits>`: format_number("INV", 2025, 42) == "INV-2025-000042"."""
    return f"{prefix}-{year:04d}-{number:0{NUMBER_DIGITS}d}"


async def next_value(session: AsyncSession, table: type[Any], year: int) -> int:
    """The year's next value of the sequence table `table` (a mapped class with `year` and
    `last_number`); the upsert locks the row until the caller's transaction ends."""
    stmt = (
        pg_insert(table)
        .values(year=year, last_number=1)
        .on_conflict_do_update(index_elements=["year"], set_={"last_number": table.last_number + 1})
        .returning(table.last_number)
    )
    number: int = (await session.execute(stmt)).scalar_one()
    return number


async def next_number(session: AsyncSession, table: type[Any], year: int, prefix: str) -> str:
    """The next gap-free document number of `year`, e.g. "INV-2026-000001"."""
    return format_number(prefix, year, await next_value(session, table, year))
