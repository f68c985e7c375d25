"""accounting_data_cache: account balances at dates, kept from accounting's events and rebuilt on
demand from accounting's trial balance.

Layout: per account, rows at the dates its balance changed (and at rebuild dates). The balance of
an account as of day D is that of its row with the latest as_of_date <= D (zero when none): a
running-balance table. A journal entry dated d adds its normal-side delta to every row of the
account dated >= d and, when the account has no row at d, inserts one (the balance before d plus
the delta). A rebuild at D writes accounting's balances as rows at D and shifts the account's later
rows by the same correction, so they stay "balance at D plus later movements". Accounts missing
from the trial balance (zero balance) get a zero row at D when the cache thought otherwise.

Rows written from events take their account name from earlier rows of the account (events carry
no names; empty until a rebuild) and AccountUpdated renames. Every write takes one advisory lock,
so the consumer and a rebuild never interleave. A rebuild reads accounting before it takes the
lock: an entry posted in that window and applied from its event first is overwritten by the
(older) rebuild figures; the next rebuild repairs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.finance.domain import ZERO
from services.finance.tables import AccountingCacheEntry as Row

LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('finance.accounting_data_cache', 0))")


@dataclass(frozen=True)
class Balance:
    account_code: str
    account_name: str
    account_type: str
    balance: Decimal


async def apply_deltas(session: AsyncSession, deltas: dict[str, tuple[str, Decimal]], day: date, now: datetime) -> None:
    """Apply one entry's per-account deltas (account type, normal-side change) dated `day`."""
    changes = {code: v for code, v in deltas.items() if v[1] != 0}
    if not changes:
        return
    await session.execute(LOCK)
    for code in sorted(changes):
        account_type, delta = changes[code]
        before = (
            await session.execute(
                select(Row.balance, Row.account_name)
                .where(Row.account_code == code, Row.as_of_date < day)
                .order_by(Row.as_of_date.desc())
                .limit(1)
            )
        ).first()
        moved = (
            await session.execute(
                update(Row)
                .where(Row.account_code == code, Row.as_of_date >= day)
                .values(balance=Row.balance + delta, last_synced_at=now)
                .returning(Row.as_of_date, Row.account_name)
            )
        ).all()
        if any(d == day for d, _ in moved):
            continue
        name = before[1] if before is not None else (moved[0][1] if moved else "")
        session.add(
            Row(
                account_code=code,
                account_name=name,
                account_type=account_type,
                balance=(before[0] if before is not None else ZERO) + delta,
                as_of_date=day,
                last_synced_at=now,
            )
        )
    await session.flush()


async def rebuild(session: AsyncSession, as_of: date, balances: list[Balance], now: datetime) -> int:
    """Replace the cache at `as_of` with accounting's balances; returns the rows written."""
    await session.execute(LOCK)
    effective = await balances_at(session, as_of)
    target = {b.account_code: b for b in balances}
    for code, old in effective.items():
        if code not in target and old.balance != 0:
            target[code] = Balance(code, old.account_name, old.account_type, ZERO)
    for code in sorted(target):
        b = target[code]
        old_balance = effective[code].balance if code in effective else ZERO
        await session.execute(
            pg_insert(Row)
            .values(
                account_code=code,
                account_name=b.account_name,
                account_type=b.account_type,
                balance=b.balance,
                as_of_date=as_of,
                last_synced_at=now,
            )
            .on_conflict_do_update(
                index_elements=["account_code", "as_of_date"],
                set_={
                    "account_name": b.account_name,
                    "account_type": b.account_type,
                    "balance": b.balance,
                    "last_synced_at": now,
                },
            )
        )
        correction = b.balance - old_balance
        later = update(Row).where(Row.account_code == code, Row.as_of_date > as_of)
        if correction != 0:
            await session.execute(later.values(balance=Row.balance + correction))
        if b.account_name:
            await session.execute(
                update(Row)
                .where(Row.account_code == code, Row.account_name != b.account_name)
                .values(account_name=b.account_name)
            )
    return len(target)


async def balances_at(session: AsyncSession, as_of: date) -> dict[str, Balance]:
    """Every cached account's balance as of `as_of` (its latest row on or before that day)."""
    stmt = (
        select(Row.account_code, Row.account_name, Row.account_type, Row.balance)
        .where(Row.as_of_date <= as_of)
        .ext(distinct_on(Row.account_code))
        .order_by(Row.account_code, Row.as_of_date.desc())
    )
    return {code: Balance(code, name, kind, bal) for code, name, kind, bal in await session.execute(stmt)}


async def rename(session: AsyncSession, code: str, name: str) -> int:
    await session.execute(LOCK)
    result = await session.execute(
        update(Row).where(Row.account_code == code, Row.account_name != name).values(account_name=name[:200])
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def latest(session: AsyncSession, codes: list[str]) -> list[Row]:
    """Each account's most recent row (ordered by account code), optionally only `codes`."""
    stmt = select(Row).ext(distinct_on(Row.account_code)).order_by(Row.account_code, Row.as_of_date.desc())
    if codes:
        stmt = stmt.where(Row.account_code.in_(codes))
    return list((await session.execute(stmt)).scalars().all())


def oldest_sync(rows: list[Row]) -> datetime | None:
    return min((r.last_synced_at for r in rows), default=None)
