"""The general ledger: one row per posted journal line with the account's running balance.

Rows of an account are ordered by (transaction_date, seq), seq being taken while the account
is locked by the posting (accounts.lock_for_posting). A new row's balance is the previous
row's plus its own amount, and the same amount is added to every later row of the account,
so a back-dated posting keeps every running balance right, while a posting at the latest date
touches no other row.

The rows of every entry a statement posts are appended by that statement (`APPEND_CTES`, part
of the posting statement in posting.py), whatever their dates:
- `gl_new` takes a seq per line (in line order);
- `gl_rows` inserts them: balance = the account's last existing row before the new row
  ((transaction_date, seq) order) + the running sum of the new rows' amounts on that account up
  to the row, in the same order (several entries, or one entry twice, may touch an account);
- `gl_later` adds to every existing later row of the account the amounts of the new rows
  before it (a statement does not see its own inserts, so the new rows are not shifted twice).
  An existing row is after a new row exactly when its date is later (on the same date its seq
  is smaller), so the new amounts are summed per (account, day) and each sum looks up the later
  rows with one range scan of idx_ledger_account (a LATERAL with `OFFSET 0`, so the planner
  does not flatten it; the row comparison is one the date index cannot serve). A payroll batch
  is three look-ups that find nothing. As a join of new rows and ledger rows the planner (the
  new rows estimated at 10) hashed every ledger row of the accounts: 170 ms for 750 new rows
  on a 12,000-row ledger, and per-row probes still cost 0.3 ms each.
The seqs come from the sequence while the accounts are locked, so they are greater than every
seq of these accounts already in the ledger: no existing row shares a new row's position, which
is what the two sums assume.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.accounting import domain
from services.accounting.entry_data import EntryData
from services.accounting.tables import Account

# Parameters: :now and the per-line arrays :gl_line_ids, :gl_entry_ids, :gl_days, :gl_accounts,
# :gl_descriptions, :gl_debits, :gl_credits, :gl_deltas (see `append_params`).
APPEND_CTES = """
    gl_new AS MATERIALIZED (
        SELECT n.line_id, n.entry_id, n.day, n.account_code, n.description, n.debit, n.credit, n.delta,
               nextval(pg_get_serial_sequence('general_ledger', 'seq')) AS seq
        FROM unnest(
            CAST(:gl_line_ids AS uuid[]), CAST(:gl_entry_ids AS uuid[]), CAST(:gl_days AS date[]),
            CAST(:gl_accounts AS text[]), CAST(:gl_descriptions AS text[]),
            CAST(:gl_debits AS numeric[]), CAST(:gl_credits AS numeric[]), CAST(:gl_deltas AS numeric[])
        ) WITH ORDINALITY AS n(line_id, entry_id, day, account_code, description, debit, credit, delta, ord)
        ORDER BY n.ord
    ), gl_rows AS (
        INSERT INTO general_ledger (
            seq, account_code, transaction_date, journal_entry_id, journal_line_id,
            description, debit_amount, credit_amount, running_balance, created_at
        )
        SELECT n.seq, n.account_code, n.day, n.entry_id, n.line_id, n.description,
               n.debit, n.credit,
               COALESCE(prev.running_balance, 0)
                 + sum(n.delta) OVER (PARTITION BY n.account_code ORDER BY n.day, n.seq),
               CAST(:now AS timestamptz)
        FROM gl_new n
        LEFT JOIN LATERAL (
            SELECT gl.running_balance
            FROM general_ledger gl
            WHERE gl.account_code = n.account_code
              AND (gl.transaction_date, gl.seq) < (n.day, n.seq)
            ORDER BY gl.transaction_date DESC, gl.seq DESC
            LIMIT 1
        ) prev ON true
        RETURNING seq
    ), gl_later AS (
        UPDATE general_ledger gl
        SET running_balance = gl.running_balance + later.delta
        FROM (
            SELECT old.id, sum(d.delta) AS delta
            FROM (SELECT account_code, day, sum(delta) AS delta FROM gl_new GROUP BY account_code, day) d
            CROSS JOIN LATERAL (
                SELECT o.id
                FROM general_ledger o
                WHERE o.account_code = d.account_code
                  AND (o.account_code, o.transaction_date) > (d.account_code, d.day)
                OFFSET 0
            ) old
            GROUP BY old.id
        ) later
        WHERE gl.id = later.id
    )
"""


def append_params(entries: Sequence[EntryData], accounts: Mapping[str, Account]) -> dict[str, Any]:
    """The parameters of APPEND_CTES for the entries' lines (descriptions default to the entry's)."""
    rows = [(entry, line) for entry in entries for line in entry.lines]
    return {
        "gl_line_ids": [line.id for _, line in rows],
        "gl_entry_ids": [entry.id for entry, _ in rows],
        "gl_days": [entry.entry_date for entry, _ in rows],
        "gl_accounts": [line.account_code for _, line in rows],
        "gl_descriptions": [line.description or entry.description for entry, line in rows],
        "gl_debits": [line.debit_amount for _, line in rows],
        "gl_credits": [line.credit_amount for _, line in rows],
        "gl_deltas": [
            domain.normal_balance(accounts[line.account_code].account_type, line.debit_amount, line.credit_amount)
            for _, line in rows
        ],
    }
