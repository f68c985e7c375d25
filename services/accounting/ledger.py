"""The general ledger: one row per posted journal line with the account's running balance.

Rows of an account are ordered by (transaction_date, seq), seq being taken while the account
is locked by the posting (accounts.lock_for_posting). A new row's balance is the previous
row's plus its own amount, and the same amount is added to every later row of the account,
so a back-dated posting keeps every running balance right, while a posting at the latest date
touches no other row.

All of an entry's rows are appended by one statement (`APPEND_CTES`, part of the posting's
statement in posting.py, or alone through `append`):
- `gl_new` takes a seq per line (in line order);
- `gl_rows` inserts them: balance = the account's last earlier row + the running sum of the
  entry's own amounts on that account up to the row (an entry may touch an account twice);
- `gl_later` adds to every existing later row of the account the amounts of the entry's rows
  before it (a statement does not see its own inserts, so the new rows are not shifted twice).
The seqs come from the sequence while the accounts are locked, so they are greater than every
seq of these accounts already in the ledger: the entry's rows of an account are adjacent in
its order, which is what the running sum assumes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.accounting import domain
from services.accounting.tables import Account, JournalEntry, JournalEntryLine

# Parameters: :entry_id, :day, :now and the per-line arrays :gl_line_ids, :gl_accounts,
# :gl_descriptions, :gl_debits, :gl_credits, :gl_deltas (see `append_params`).
APPEND_CTES = """
    gl_new AS MATERIALIZED (
        SELECT n.line_id, n.account_code, n.description, n.debit, n.credit, n.delta,
               nextval(pg_get_serial_sequence('general_ledger', 'seq')) AS seq
        FROM unnest(
            CAST(:gl_line_ids AS uuid[]), CAST(:gl_accounts AS text[]), CAST(:gl_descriptions AS text[]),
            CAST(:gl_debits AS numeric[]), CAST(:gl_credits AS numeric[]), CAST(:gl_deltas AS numeric[])
        ) WITH ORDINALITY AS n(line_id, account_code, description, debit, credit, delta, ord)
        ORDER BY n.ord
    ), gl_rows AS (
        INSERT INTO general_ledger (
            seq, account_code, transaction_date, journal_entry_id, journal_line_id,
            description, debit_amount, credit_amount, running_balance, created_at
        )
        SELECT n.seq, n.account_code, CAST(:day AS date), CAST(:entry_id AS uuid), n.line_id, n.description,
               n.debit, n.credit,
               COALESCE(prev.running_balance, 0)
                 + sum(n.delta) OVER (PARTITION BY n.account_code ORDER BY n.seq),
               CAST(:now AS timestamptz)
        FROM gl_new n
        LEFT JOIN LATERAL (
            SELECT gl.running_balance
            FROM general_ledger gl
            WHERE gl.account_code = n.account_code
              AND (gl.transaction_date, gl.seq) < (CAST(:day AS date), n.seq)
            ORDER BY gl.transaction_date DESC, gl.seq DESC
            LIMIT 1
        ) prev ON true
        RETURNING seq
    ), gl_later AS (
        UPDATE general_ledger gl
        SET running_balance = gl.running_balance + later.delta
        FROM (
            SELECT old.id, sum(n.delta) AS delta
            FROM gl_new n
            JOIN general_ledger old
              ON old.account_code = n.account_code
             AND (old.transaction_date, old.seq) > (CAST(:day AS date), n.seq)
            GROUP BY old.id
        ) later
        WHERE gl.id = later.id
    )
"""

APPEND = text(f"WITH {APPEND_CTES} SELECT count(*) FROM gl_rows")


def append_params(
    entry_id: uuid.UUID,
    day: date,
    now: datetime,
    entry_description: str | None,
    lines: Sequence[JournalEntryLine],
    accounts: Mapping[str, Account],
) -> dict[str, Any]:
    """The parameters of APPEND_CTES for these lines (descriptions default to the entry's)."""
    return {
        "entry_id": entry_id,
        "day": day,
        "now": now,
        "gl_line_ids": [line.id for line in lines],
        "gl_accounts": [line.account_code for line in lines],
        "gl_descriptions": [line.description or entry_description for line in lines],
        "gl_debits": [line.debit_amount for line in lines],
        "gl_credits": [line.credit_amount for line in lines],
        "gl_deltas": [
            domain.normal_balance(accounts[line.account_code].account_type, line.debit_amount, line.credit_amount)
            for line in lines
        ],
    }


async def append(session: AsyncSession, entry: JournalEntry, accounts: Mapping[str, Account]) -> None:
    """Add the entry's lines to the ledger (the entry and its lines are written already)."""
    if entry.lines:
        assert entry.posted_at is not None
        params = append_params(entry.id, entry.entry_date, entry.posted_at, entry.description, entry.lines, accounts)
        await session.execute(APPEND, params)
