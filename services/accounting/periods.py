"""Fiscal periods as a posting needs them: found (or created on demand) and share-locked.

A posting holds its period FOR SHARE until it commits, and closing takes the period FOR
UPDATE, so a period cannot close under a posting that is still in flight.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounting import domain
from services.accounting.tables import FiscalPeriod
from services.runtime.errors import FailedPrecondition


async def covering(session: AsyncSession, day: date, *, share_lock: bool = False) -> FiscalPeriod | None:
    stmt = select(FiscalPeriod).where(FiscalPeriod.start_date <= day, FiscalPeriod.end_date >= day)
    if share_lock:
        stmt = stmt.with_for_update(read=True).execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def create_missing(session: AsyncSession, spans: list[domain.PeriodSpan], now: datetime) -> None:
    """Insert these periods unless they (or an overlapping period) exist; safe under races."""
    if not spans:
        return
    rows = [
        {
            "fiscal_year": s.fiscal_year,
            "period_number": s.period_number,
            "start_date": s.start_date,
            "end_date": s.end_date,
            "status": domain.PeriodStatus.OPEN.value,
            "created_at": now,
            "updated_at": now,
        }
        for s in spans
    ]
    await session.execute(pg_insert(FiscalPeriod).values(rows).on_conflict_do_nothing())


async def open_period_for(session: AsyncSession, day: date, now: datetime) -> FiscalPeriod:
    """The open period `day` falls in, share-locked; its month's period is created if none."""
    period = await covering(session, day, share_lock=True)
    if period is None:
        span = domain.month_period(day)
        await create_missing(session, [span], now)
        period = await covering(session, day, share_lock=True)
        if period is None:
            label = domain.period_label(span.fiscal_year, span.period_number)
            raise FailedPrecondition(
                f"no fiscal period covers {day.isoformat()}, and period {label} cannot be created "
                "because it conflicts with an existing period"
            )
    domain.ensure_period_open(period.status, period.fiscal_year, period.period_number)
    return period


async def lock_year(session: AsyncSession, year: int) -> list[FiscalPeriod]:
    stmt = (
        select(FiscalPeriod)
        .where(FiscalPeriod.fiscal_year == year)
        .order_by(FiscalPeriod.start_date)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars())
