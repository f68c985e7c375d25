"""The ledger rows of an entry are appended by one statement: an entry that touches an account
twice, back-dated among existing rows, still leaves every running balance right, and the entry
the posting returns is the one stored."""

from __future__ import annotations

import uuid
from decimal import Decimal

import asyncpg
from erp.accounting.v1 import accounting_pb2 as pb

from tests.accounting.helpers import (
    D,
    Stub,
    assert_books_balanced,
    cr,
    create_account,
    day,
    dr,
    fresh_year,
    ledger_rows,
    post,
)


def assert_running_balances(rows: list[dict[str, object]], debit_normal: bool) -> None:
    running = Decimal(0)
    for r in rows:
        delta = Decimal(str(r["debit_amount"])) - Decimal(str(r["credit_amount"]))
        running += delta if debit_normal else -delta
        assert r["running_balance"] == running


async def test_entry_touching_an_account_twice_back_dated(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    bank = await create_account(stub, pb.ACCOUNT_TYPE_ASSET)
    loan = await create_account(stub, pb.ACCOUNT_TYPE_LIABILITY)
    for month in (2, 4):
        await post(stub, day(year, month, 1), dr(bank.account_code, "100.00"), cr(loan.account_code, "100.00"))
    # Back-dated between the two, bank twice (in and out), loan twice.
    entry = await post(
        stub,
        day(year, 3, 1),
        dr(bank.account_code, "40.00", "in"),
        cr(bank.account_code, "15.00", "out"),
        cr(loan.account_code, "20.00"),
        cr(loan.account_code, "5.00", "second"),
        description="Back-dated",
    )
    bank_rows = await ledger_rows(db, bank.account_code)
    assert [r["running_balance"] for r in bank_rows] == [Decimal(x) for x in ("100.00", "140.00", "125.00", "225.00")]
    assert_running_balances(bank_rows, debit_normal=True)
    loan_rows = await ledger_rows(db, loan.account_code)
    assert [r["running_balance"] for r in loan_rows] == [Decimal(x) for x in ("100.00", "120.00", "125.00", "225.00")]
    assert_running_balances(loan_rows, debit_normal=False)
    # The response is what was stored.
    stored = await db.fetchrow("SELECT * FROM journal_entries WHERE id = $1", uuid.UUID(entry.id))
    assert stored is not None
    assert stored["journal_number"] == entry.journal_number
    assert D(entry.total_debit) == stored["total_debit"] == Decimal("40.00")
    lines = await db.fetch(
        "SELECT id, line_number, account_code, description, debit_amount, credit_amount "
        "FROM journal_entry_lines WHERE journal_entry_id = $1 ORDER BY line_number",
        stored["id"],
    )
    assert [(str(r["id"]), r["line_number"], r["account_code"]) for r in lines] == [
        (line.id, line.line_number, line.account_code) for line in entry.lines
    ]
    ledger_descriptions = await db.fetch(
        "SELECT description FROM general_ledger WHERE journal_entry_id = $1 ORDER BY seq", stored["id"]
    )
    assert [r["description"] for r in ledger_descriptions] == ["in", "out", "Back-dated", "second"]
    await assert_books_balanced(stub, db)
