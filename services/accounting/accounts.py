"""Reading and locking chart-of-accounts rows (I/O; the rules are in domain.py)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounting.tables import Account
from services.runtime.errors import NotFound

ANCESTORS = text(
    """
    WITH RECURSIVE up(code, depth) AS (
        SELECT parent_account_code, 1 FROM chart_of_accounts WHERE account_code = :code
        UNION ALL
        SELECT a.parent_account_code, up.depth + 1
        FROM chart_of_accounts a JOIN up ON a.account_code = up.code
        WHERE up.depth < 100
    )
    SELECT code FROM up WHERE code IS NOT NULL ORDER BY depth
    """
)


async def by_code(session: AsyncSession, code: str) -> Account | None:
    return (await session.execute(select(Account).where(Account.account_code == code))).scalar_one_or_none()


async def by_code_or_404(session: AsyncSession, code: str) -> Account:
    row = await by_code(session, code)
    if row is None:
        raise NotFound("account", code)
    return row


async def by_codes(session: AsyncSession, codes: Iterable[str]) -> dict[str, Account]:
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = (await session.execute(select(Account).where(Account.account_code.in_(wanted)))).scalars()
    return {r.account_code: r for r in rows}


async def lock_for_posting(session: AsyncSession, codes: Iterable[str]) -> dict[str, Account]:
    """Lock the accounts a posting touches, in code order (no deadlocks between postings).

    FOR NO KEY UPDATE serializes postings per account, so each computes its running balances
    from the rows the previous one committed; it does not block foreign-key checks."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    stmt = (
        select(Account)
        .where(Account.account_code.in_(wanted))
        .order_by(Account.account_code)
        .with_for_update(key_share=True)  # FOR NO KEY UPDATE
        .execution_options(populate_existing=True)
    )
    return {r.account_code: r for r in (await session.execute(stmt)).scalars()}


async def ancestors(session: AsyncSession, code: str) -> list[str]:
    """Codes above `code` in the tree, nearest first."""
    return [r[0] for r in await session.execute(ANCESTORS, {"code": code})]
