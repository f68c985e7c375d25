"""The general ledger: one row per posted journal line with the account's running balance.

Rows of an account are ordered by (transaction_date, seq), seq being taken while the account
is locked by the posting (accounts.lock_for_posting). A new row's balance is the previous
row's plus its own amount, and the same amount is added to every later row of the account,
so a back-dated posting keeps every running balance right, while a posting at the latest date
touches no other row.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounting import domain
from services.accounting.tables import Account, JournalEntry

APPEND = text(
    """
    WITH s AS (
        SELECT nextval(pg_get_serial_sequence('general_ledger', 'seq')) AS seq
    ), prev AS (
        SELECT gl.running_balance
        FROM general_ledger gl, s
        WHERE gl.account_code = :account
          AND (gl.transaction_date, gl.seq) < (CAST(:day AS date), s.seq)
        ORDER BY gl.transaction_date DESC, gl.seq DESC
        LIMIT 1
    ), ins AS (
        INSERT INTO general_ledger (
            seq, account_code, transaction_date, journal_entry_id, journal_line_id,
            description, debit_amount, credit_amount, running_balance, created_at
        )
        SELECT s.seq, :account, CAST(:day AS date), :entry_id, :line_id, :description,
               :debit, :credit, COALESCE((SELECT running_balance FROM prev), 0) + CAST(:delta AS numeric),
               :now
        FROM s
        RETURNING seq
    )
    UPDATE general_ledger gl
    SET running_balance = gl.running_balance + CAST(:delta AS numeric)
    FROM ins
    WHERE gl.account_code = :account
      AND (gl.transaction_date, gl.seq) > (CAST(:day AS date), ins.seq)
    """
)


async def append(session: AsyncSession, entry: JournalEntry, accounts: Mapping[str, Account]) -> None:
    """Add the entry's lines to the ledger (the entry and its lines are flushed already)."""
    params: list[dict[str, Any]] = [
        {
            "account": line.account_code,
            "day": entry.entry_date,
            "entry_id": entry.id,
            "line_id": line.id,
            "description": line.description or entry.description,
            "debit": line.debit_amount,
            "credit": line.credit_amount,
            "delta": domain.normal_balance(
                accounts[line.account_code].account_type, line.debit_amount, line.credit_amount
            ),
            "now": entry.posted_at,
        }
        for line in entry.lines
    ]
    if params:
        await session.execute(APPEND, params)
