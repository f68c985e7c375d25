"""What the database itself guarantees (balanced entries at COMMIT, immutable posted entries,
an append-only ledger), running balances under back-dated postings, and gap-free journal
numbers under concurrency."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
import pytest
from erp.accounting.v1 import accounting_pb2 as pb
from erp.accounting.v1 import accounting_service_pb2 as api

from services.accounting import chart, domain
from services.accounting.posting import post_entry
from services.runtime.db import Database
from services.runtime.settings import Settings, to_libpq_url
from tests.accounting.helpers import (
    Stub,
    assert_books_balanced,
    cr,
    create_account,
    day,
    dr,
    fresh_year,
    ledger_rows,
    post,
    post_request,
)


@pytest.fixture
async def raw(settings: Settings, stub: Stub) -> AsyncIterator[asyncpg.Connection]:
    """A separate connection for SQL that bypasses the API (and is expected to fail)."""
    conn = await asyncpg.connect(to_libpq_url(settings.service_database_url("accounting")))
    yield conn
    await conn.close()


async def _posted_entry(stub: Stub) -> pb.JournalEntry:
    return await post(stub, day(fresh_year(), 1, 10), dr(chart.CASH, "100.00"), cr(chart.SALES_REVENUE, "100.00"))


async def _insert_entry(raw: asyncpg.Connection, period_id: uuid.UUID, when: date, total: str) -> uuid.UUID:
    entry_id = uuid.uuid4()
    await raw.execute(
        "INSERT INTO journal_entries (id, journal_number, entry_date, fiscal_period_id, total_debit, total_credit, "
        "status, posted_at) VALUES ($1, $2, $3, $4, $5::numeric, $5::numeric, 'posted', now())",
        entry_id,
        f"SQL-{entry_id.hex[:12]}",
        when,
        period_id,
        total,
    )
    return entry_id


async def _insert_line(
    raw: asyncpg.Connection, entry_id: uuid.UUID, n: int, code: str, debit: str, credit: str
) -> None:
    await raw.execute(
        "INSERT INTO journal_entry_lines (journal_entry_id, line_number, account_code, debit_amount, credit_amount) "
        "VALUES ($1, $2, $3, $4::numeric, $5::numeric)",
        entry_id,
        n,
        code,
        debit,
        credit,
    )


@pytest.mark.parametrize(
    ("header_total", "lines", "message"),
    [
        ("100.00", [("1010", "100.00", "0"), ("4100", "0", "90.00")], "unbalanced"),
        ("100.00", [("1010", "50.00", "0"), ("4100", "0", "50.00")], "header says"),
        ("100.00", [("1010", "100.00", "0")], "at least two"),
        ("100.00", [], "at least two"),
    ],
)
async def test_database_refuses_an_unbalanced_entry_at_commit(
    stub: Stub,
    db: asyncpg.Connection,
    raw: asyncpg.Connection,
    header_total: str,
    lines: list[tuple[str, str, str]],
    message: str,
) -> None:
    existing = await _posted_entry(stub)
    period_id = await db.fetchval("SELECT fiscal_period_id FROM journal_entries WHERE id = $1", uuid.UUID(existing.id))
    when = await db.fetchval("SELECT entry_date FROM journal_entries WHERE id = $1", uuid.UUID(existing.id))
    tx = raw.transaction()
    await tx.start()
    entry_id = await _insert_entry(raw, period_id, when, header_total)
    for n, (code, debit, credit) in enumerate(lines, start=1):
        await _insert_line(raw, entry_id, n, code, debit, credit)  # accepted for now: the check is deferred
    with pytest.raises(asyncpg.CheckViolationError, match=message):
        await tx.commit()
    assert await db.fetchval("SELECT count(*) FROM journal_entries WHERE id = $1", entry_id) == 0
    await assert_books_balanced(stub, db)


async def test_line_checks_refuse_two_sided_and_negative_lines(
    stub: Stub, db: asyncpg.Connection, raw: asyncpg.Connection
) -> None:
    existing = await _posted_entry(stub)
    entry_id = uuid.UUID(existing.id)
    for debit, credit in (("10", "10"), ("-10", "0"), ("0", "0")):
        with pytest.raises(asyncpg.CheckViolationError):
            await _insert_line(raw, entry_id, 9, chart.CASH, debit, credit)


async def test_posted_entries_and_lines_cannot_be_changed_or_deleted(
    stub: Stub, db: asyncpg.Connection, raw: asyncpg.Connection
) -> None:
    entry = await _posted_entry(stub)
    entry_id = uuid.UUID(entry.id)
    before = [
        dict(r) for r in await db.fetch("SELECT * FROM journal_entry_lines WHERE journal_entry_id = $1", entry_id)
    ]
    statements = [
        "UPDATE journal_entry_lines SET debit_amount = debit_amount + 1 WHERE journal_entry_id = $1",
        "UPDATE journal_entry_lines SET account_code = '1200' WHERE journal_entry_id = $1",
        "DELETE FROM journal_entry_lines WHERE journal_entry_id = $1",
        "DELETE FROM journal_entries WHERE id = $1",
        "UPDATE journal_entries SET total_debit = 1, total_credit = 1 WHERE id = $1",
        "UPDATE journal_entries SET description = 'changed' WHERE id = $1",
        "UPDATE journal_entries SET entry_date = entry_date + 1 WHERE id = $1",
        "UPDATE journal_entries SET status = 'draft' WHERE id = $1",
        "UPDATE journal_entries SET status = 'reversed', reversed_by_id = id, description = 'x' WHERE id = $1",
        "DELETE FROM general_ledger WHERE journal_entry_id = $1",
        "UPDATE general_ledger SET debit_amount = debit_amount + 1 WHERE journal_entry_id = $1",
    ]
    for sql in statements:
        with pytest.raises(asyncpg.RestrictViolationError):
            await raw.execute(sql, entry_id)
    for table in ("journal_entries", "journal_entry_lines", "general_ledger"):
        with pytest.raises(asyncpg.RestrictViolationError):
            await raw.execute(f"TRUNCATE {table} CASCADE")
    after = [dict(r) for r in await db.fetch("SELECT * FROM journal_entry_lines WHERE journal_entry_id = $1", entry_id)]
    assert after == before
    await assert_books_balanced(stub, db)


async def test_database_refuses_an_entry_in_a_closed_period(
    stub: Stub, db: asyncpg.Connection, raw: asyncpg.Connection
) -> None:
    entry = await _posted_entry(stub)
    period_id = await db.fetchval("SELECT fiscal_period_id FROM journal_entries WHERE id = $1", uuid.UUID(entry.id))
    await stub.CloseFiscalPeriod(api.CloseFiscalPeriodRequest(id=str(period_id)))
    when = await db.fetchval("SELECT entry_date FROM journal_entries WHERE id = $1", uuid.UUID(entry.id))
    with pytest.raises(asyncpg.CheckViolationError, match="closed"):
        await _insert_entry(raw, period_id, when, "1.00")
    with pytest.raises(asyncpg.CheckViolationError, match="outside its fiscal period"):
        await _insert_entry(raw, period_id, date(1990, 1, 1), "1.00")


async def test_back_dated_postings_keep_every_running_balance(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    bank = await create_account(stub, pb.ACCOUNT_TYPE_ASSET)
    loan = await create_account(stub, pb.ACCOUNT_TYPE_LIABILITY)
    postings = [  # (month, day, amount): positive = money in (Dr bank / Cr loan), negative = out
        (3, 10, "100.00"),
        (3, 20, "-30.00"),
        (4, 1, "50.00"),
        (1, 5, "7.00"),  # back-dated before everything
        (3, 10, "-2.50"),  # same day as an existing row: goes after it
        (3, 15, "1000.00"),  # in the middle
        (4, 1, "0.01"),
        (2, 28, "-5.00"),
    ]
    for month, d, amount in postings:
        value = Decimal(amount)
        lines = (
            (dr(bank.account_code, amount), cr(loan.account_code, amount))
            if value > 0
            else (cr(bank.account_code, str(-value)), dr(loan.account_code, str(-value)))
        )
        await post(stub, day(year, month, d), *lines)
        for code in (bank.account_code, loan.account_code):
            rows = await ledger_rows(db, code)
            running = Decimal(0)
            for r in rows:
                delta = r["debit_amount"] - r["credit_amount"]
                running += delta if code == bank.account_code else -delta
                assert r["running_balance"] == running
    rows = await ledger_rows(db, bank.account_code)
    assert [(r["transaction_date"].month, r["transaction_date"].day) for r in rows] == [
        (1, 5), (2, 28), (3, 10), (3, 10), (3, 15), (3, 20), (4, 1), (4, 1)
    ]  # fmt: skip
    assert [r["running_balance"] for r in rows] == [
        Decimal(x) for x in ("7.00", "2.00", "102.00", "99.50", "1099.50", "1069.50", "1119.50", "1119.51")
    ]
    assert [r["running_balance"] for r in await ledger_rows(db, loan.account_code)][-1] == Decimal("1119.51")
    await assert_books_balanced(stub, db)


async def test_posting_at_the_latest_date_touches_no_other_ledger_row(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    bank = await create_account(stub, pb.ACCOUNT_TYPE_ASSET)
    for month in (1, 2, 3):
        await post(stub, day(year, month, 1), dr(bank.account_code, "10.00"), cr(chart.SALES_REVENUE, "10.00"))
    versions = "SELECT seq, xmin::text AS x FROM general_ledger WHERE account_code = $1 ORDER BY seq"
    before = [tuple(r) for r in await db.fetch(versions, bank.account_code)]
    await post(stub, day(year, 3, 1), dr(bank.account_code, "1.00"), cr(chart.SALES_REVENUE, "1.00"))
    after = [tuple(r) for r in await db.fetch(versions, bank.account_code)]
    assert after[:3] == before  # untouched rows keep their row version
    await post(stub, day(year, 2, 1), dr(bank.account_code, "1.00"), cr(chart.SALES_REVENUE, "1.00"))
    later = [tuple(r) for r in await db.fetch(versions, bank.account_code)]
    assert later[0] == before[0] and later[1] == before[1]  # earlier rows untouched
    assert later[2] != before[2] and later[3] != after[3]  # later rows were shifted
    await assert_books_balanced(stub, db)


async def test_journal_numbers_are_gap_free_under_concurrency(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    rng = random.Random(7)
    requests = [
        post_request(
            day(year, rng.randint(1, 12), rng.randint(1, 28)),
            dr(chart.CASH, f"{i + 1}.00"),
            cr(rng.choice([chart.SALES_REVENUE, chart.SALES_TAX_PAYABLE]), f"{i + 1}.00"),
        )
        for i in range(30)
    ]
    results = await asyncio.gather(*(stub.PostJournalEntry(r) for r in requests))
    numbers = sorted(r.journal_entry.journal_number for r in results)
    assert numbers == [f"JE-{year}-{n:06d}" for n in range(1, 31)]
    last = await db.fetchval("SELECT last_number FROM journal_sequences WHERE year = $1", year)
    assert last == 30
    await assert_books_balanced(stub, db)


async def test_a_rolled_back_posting_gives_its_number_back(
    settings: Settings, stub: Stub, db: asyncpg.Connection
) -> None:
    year = fresh_year()
    database = Database(settings.service_database_url("accounting"), settings, "accounting")
    draft = domain.Draft(
        entry_date=date(year, 8, 8),
        lines=(
            domain.DraftLine(chart.CASH, debit=Decimal("5.00")),
            domain.DraftLine(chart.SALES_REVENUE, credit=Decimal("5.00")),
        ),
    )
    now = datetime.now(UTC)
    try:
        with pytest.raises(RuntimeError, match="abort"):
            async with database.unit_of_work() as uow:
                posting = await post_entry(uow, draft, now=now)
                assert posting.entry.journal_number == f"JE-{year}-000001"
                raise RuntimeError("abort")
        async with database.unit_of_work() as uow:
            posting = await post_entry(uow, draft, now=now)
        assert posting.entry.journal_number == f"JE-{year}-000001"
    finally:
        await database.dispose()
    await assert_books_balanced(stub, db)
