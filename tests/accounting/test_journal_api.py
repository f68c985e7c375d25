"""PostJournalEntry, ReverseJournalEntry, GetJournalEntry, BatchGetJournalEntries and
ListJournalEntries against the real service. Every rejection writes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from erp.accounting.v1 import accounting_pb2 as pb
from erp.accounting.v1 import accounting_service_pb2 as api
from google.protobuf.field_mask_pb2 import FieldMask

from services.accounting import chart
from tests.accounting.helpers import (
    CALLER,
    USER_ID,
    Code,
    D,
    Stub,
    assert_books_balanced,
    cr,
    create_account,
    day,
    dec,
    dr,
    events_since,
    fresh_year,
    outbox_mark,
    post,
    post_request,
    rejected,
    rpc_error,
    tag,
    violation_fields,
)


async def test_post_journal_entry(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    mark = await outbox_mark(db)
    entry = await post(
        stub,
        day(year, 3, 15),
        dr(chart.CASH, "1150.00", "cash in"),
        cr(chart.SALES_REVENUE, "1000.00"),
        cr(chart.SALES_TAX_PAYABLE, "150.00"),
        reference="INV-1",
        department="Sales",
    )
    assert entry.journal_number == f"JE-{year}-000001"
    assert entry.status == pb.JOURNAL_ENTRY_STATUS_POSTED
    assert entry.source_service == "manual" and entry.source_id == ""
    assert (entry.reference, entry.department, entry.posted_by) == ("INV-1", "Sales", USER_ID)
    assert D(entry.total_debit) == D(entry.total_credit) == D("1150.00")
    assert [(x.line_number, x.account_code, D(x.debit_amount), D(x.credit_amount)) for x in entry.lines] == [
        (1, chart.CASH, D("1150.00"), D("0")),
        (2, chart.SALES_REVENUE, D("0"), D("1000.00")),
        (3, chart.SALES_TAX_PAYABLE, D("0"), D("150.00")),
    ]
    assert entry.lines[0].description == "cash in"
    got = (await stub.GetJournalEntry(api.GetJournalEntryRequest(id=entry.id))).journal_entry
    assert got == entry

    [posted] = await events_since(db, mark, "JournalEntryPosted")
    assert posted.journal_entry_id == entry.id and posted.journal_number == entry.journal_number
    assert (posted.source_service, posted.reference, posted.department) == ("manual", "INV-1", "Sales")
    assert D(posted.total_amount) == D("1150.00")
    assert [(x.account_code, x.account_type) for x in posted.lines] == [
        (chart.CASH, pb.ACCOUNT_TYPE_ASSET),
        (chart.SALES_REVENUE, pb.ACCOUNT_TYPE_REVENUE),
        (chart.SALES_TAX_PAYABLE, pb.ACCOUNT_TYPE_LIABILITY),
    ]
    ledger = await db.fetch("SELECT account_code FROM general_ledger WHERE journal_entry_id = $1", uuid.UUID(entry.id))
    assert sorted(r["account_code"] for r in ledger) == sorted(
        [chart.CASH, chart.SALES_REVENUE, chart.SALES_TAX_PAYABLE]
    )
    await assert_books_balanced(stub, db)


async def test_unbalanced_entry_is_invalid_argument_naming_the_difference(stub: Stub, db: asyncpg.Connection) -> None:
    req = post_request(day(fresh_year(), 1, 5), dr(chart.CASH, "100.00"), cr(chart.SALES_REVENUE, "90.00"))
    err = await rejected(db, lambda: stub.PostJournalEntry(req), Code.INVALID_ARGUMENT, fields=("lines",))
    assert "differ by 10.00" in err.details()
    assert "100.00" in err.details() and "90.00" in err.details()
    await assert_books_balanced(stub, db)


async def test_bad_entries_are_invalid_argument(stub: Stub, db: asyncpg.Connection) -> None:
    when = day(fresh_year(), 1, 5)
    cases: list[tuple[api.PostJournalEntryRequest, tuple[str, ...]]] = [
        (post_request(when, dr(chart.CASH, "10.00")), ("lines",)),
        (post_request(when), ("lines",)),
        (api.PostJournalEntryRequest(lines=[dr(chart.CASH, "1"), cr(chart.SALES_REVENUE, "1")]), ("entry_date",)),
        (post_request(day(2024, 2, 30), dr(chart.CASH, "1"), cr(chart.SALES_REVENUE, "1")), ("entry_date",)),
        (post_request(when, dr(chart.CASH, "-5.00"), cr(chart.SALES_REVENUE, "-5.00")), ("lines[0].debit_amount",)),
        (post_request(when, dr(chart.CASH, "1.005"), cr(chart.SALES_REVENUE, "1.005")), ("lines[1].credit_amount",)),
        (post_request(when, dr(chart.CASH, "abc"), cr(chart.SALES_REVENUE, "1")), ("lines[0].debit_amount",)),
        (post_request(when, dr(chart.CASH, "0"), cr(chart.SALES_REVENUE, "0")), ("lines[0]", "lines[1]")),
        (post_request(when, dr("", "1"), cr(chart.SALES_REVENUE, "1")), ("lines[0].account_code",)),
        (post_request(when, dr("9999", "1"), cr(chart.SALES_REVENUE, "1")), ("lines[0].account_code",)),
        (post_request(when, dr(chart.CASH, "1"), cr(chart.CASH, "1"), reference="r" * 101), ("reference",)),
        (post_request(when, dr(chart.CASH, "1", "nul\x00"), cr(chart.SALES_REVENUE, "1")), ("lines[0].description",)),
        (post_request(when, dr("10\x0010", "1"), cr(chart.SALES_REVENUE, "1")), ("lines[0].account_code",)),
        (post_request(when, dr(chart.CASH, "1"), cr(chart.SALES_REVENUE, "1"), department="a\x00"), ("department",)),
    ]
    both = api.JournalEntryLineInput(account_code=chart.CASH, debit_amount=dec("5"), credit_amount=dec("5"))
    cases.append((post_request(when, both, cr(chart.SALES_REVENUE, "0")), ("lines[0]", "lines[1]")))
    for req, fields in cases:
        await rejected(db, lambda req=req: stub.PostJournalEntry(req), Code.INVALID_ARGUMENT, fields=fields)
    await assert_books_balanced(stub, db)


async def test_inactive_account_refuses_postings(stub: Stub, db: asyncpg.Connection) -> None:
    account = await create_account(stub, pb.ACCOUNT_TYPE_EXPENSE, name="Old expense")
    update = api.UpdateAccountRequest(
        account=pb.Account(id=account.id, is_active=False), update_mask=FieldMask(paths=["is_active"])
    )
    await stub.UpdateAccount(update)
    req = post_request(day(fresh_year(), 2, 1), dr(account.account_code, "10.00"), cr(chart.CASH, "10.00"))
    err = await rejected(db, lambda: stub.PostJournalEntry(req), Code.FAILED_PRECONDITION)
    assert account.account_code in err.details() and "inactive" in err.details()
    await assert_books_balanced(stub, db)


async def test_reverse_journal_entry(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    original = await post(
        stub, day(year, 5, 10), dr(chart.SALARY_EXPENSE, "300.00"), cr(chart.CASH, "300.00"), department="Ops"
    )
    mark = await outbox_mark(db)
    req = api.ReverseJournalEntryRequest(id=original.id, reversal_date=day(year, 5, 20), reason="posted twice")
    resp = await stub.ReverseJournalEntry(req, metadata=CALLER)
    reversed_, reversal = resp.reversed_entry, resp.reversal_entry
    assert reversed_.id == original.id
    assert reversed_.status == pb.JOURNAL_ENTRY_STATUS_REVERSED
    assert reversed_.reversed_by_id == reversal.id
    assert reversed_.lines == original.lines  # nothing about the original's amounts changed
    assert reversal.reversal_of_id == original.id
    assert reversal.status == pb.JOURNAL_ENTRY_STATUS_POSTED
    assert reversal.journal_number == f"JE-{year}-000002"
    assert reversal.department == "Ops"
    assert "posted twice" in reversal.description
    assert [(x.account_code, D(x.debit_amount), D(x.credit_amount)) for x in reversal.lines] == [
        (chart.SALARY_EXPENSE, D("0"), D("300.00")),
        (chart.CASH, D("300.00"), D("0")),
    ]
    events = await events_since(db, mark)
    assert [type(e).__name__ for e in events] == ["JournalEntryPosted", "JournalEntryReversed"]
    posted, rev_event = events
    assert posted.journal_entry_id == reversal.id and posted.reversal_of_id == original.id
    assert (rev_event.journal_entry_id, rev_event.reversal_entry_id) == (original.id, reversal.id)
    assert rev_event.reason == "posted twice" and D(rev_event.total_amount) == D("300.00")
    # Both stay in the ledger and cancel out.
    rows = await db.fetch(
        "SELECT sum(debit_amount - credit_amount) AS net, count(*) AS n FROM general_ledger "
        "WHERE journal_entry_id = ANY($1::uuid[])",
        [uuid.UUID(original.id), uuid.UUID(reversal.id)],
    )
    assert rows[0]["n"] == 4 and rows[0]["net"] == 0

    again = api.ReverseJournalEntryRequest(id=original.id, reversal_date=day(year, 5, 21), reason="again")
    err = await rejected(db, lambda: stub.ReverseJournalEntry(again), Code.FAILED_PRECONDITION)
    assert "already reversed" in err.details()
    await assert_books_balanced(stub, db)


async def test_reverse_errors(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    entry = await post(stub, day(year, 6, 10), dr(chart.CASH, "5.00"), cr(chart.SALES_REVENUE, "5.00"))
    missing = str(uuid.uuid4())
    cases = [
        (api.ReverseJournalEntryRequest(id=missing, reason="x"), Code.NOT_FOUND, ()),
        (api.ReverseJournalEntryRequest(id="nope", reason="x"), Code.INVALID_ARGUMENT, ("id",)),
        (api.ReverseJournalEntryRequest(id=entry.id, reason=" "), Code.INVALID_ARGUMENT, ("reason",)),
        (
            api.ReverseJournalEntryRequest(id=entry.id, reason="x", reversal_date=day(year, 6, 9)),
            Code.INVALID_ARGUMENT,
            ("reversal_date",),
        ),
    ]
    for req, code, fields in cases:
        await rejected(db, lambda req=req: stub.ReverseJournalEntry(req), code, fields=fields)
    await assert_books_balanced(stub, db)


async def test_reversal_defaults_to_today(stub: Stub, db: asyncpg.Connection) -> None:
    entry = await post(stub, day(2001, 1, 10), dr(chart.CASH, "7.00"), cr(chart.SALES_REVENUE, "7.00"))
    resp = await stub.ReverseJournalEntry(api.ReverseJournalEntryRequest(id=entry.id, reason="wrong"))
    today = await db.fetchval("SELECT current_date")
    got = resp.reversal_entry.entry_date
    assert (got.year, got.month, got.day) == (today.year, today.month, today.day)
    await assert_books_balanced(stub, db)


async def test_get_and_batch_get(stub: Stub, db: asyncpg.Connection) -> None:
    when = day(fresh_year(), 7, 1)
    a = await post(stub, when, dr(chart.CASH, "1.00"), cr(chart.SALES_REVENUE, "1.00"))
    b = await post(stub, when, dr(chart.CASH, "2.00"), cr(chart.SALES_REVENUE, "2.00"))
    unknown = str(uuid.uuid4())
    resp = await stub.BatchGetJournalEntries(api.BatchGetJournalEntriesRequest(ids=[a.id, b.id, a.id, unknown]))
    assert sorted(e.id for e in resp.journal_entries) == sorted([a.id, b.id])
    assert all(len(e.lines) == 2 for e in resp.journal_entries)
    await rpc_error(stub.GetJournalEntry(api.GetJournalEntryRequest(id=unknown)), Code.NOT_FOUND)
    err = await rpc_error(stub.GetJournalEntry(api.GetJournalEntryRequest(id="x")), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["id"]
    err = await rpc_error(
        stub.BatchGetJournalEntries(api.BatchGetJournalEntriesRequest(ids=["bad"])), Code.INVALID_ARGUMENT
    )
    assert violation_fields(err) == ["ids"]
    await assert_books_balanced(stub, db)


async def test_list_journal_entries_filters_and_pages(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    dept = f"Dept {tag()}"
    expense = await create_account(stub, pb.ACCOUNT_TYPE_EXPENSE)
    made = []
    for month in (1, 2, 3, 4, 5):
        made.append(
            await post(
                stub,
                day(year, month, 3),
                dr(expense.account_code, f"{month}.00"),
                cr(chart.CASH, f"{month}.00"),
                department=dept,
            )
        )
    other = await post(stub, day(year, 3, 3), dr(chart.CASH, "1.00"), cr(chart.SALES_REVENUE, "1.00"), department=dept)

    async def ids(**kw: Any) -> list[str]:
        out, token = [], ""
        while True:
            resp = await stub.ListJournalEntries(api.ListJournalEntriesRequest(page_size=2, page_token=token, **kw))
            out.extend(e.id for e in resp.journal_entries)
            token = resp.next_page_token
            if not token:
                return out

    newest_first = [e.id for e in reversed(made)]
    assert await ids(account_code=expense.account_code) == newest_first
    assert set(await ids(department=dept)) == {*newest_first, other.id}
    assert await ids(
        department=dept, start_date=day(year, 2, 1), end_date=day(year, 3, 31), account_code=expense.account_code
    ) == [
        made[2].id,
        made[1].id,
    ]
    assert await ids(department=dept, source_service="payroll") == []
    assert await ids(department=dept, statuses=[pb.JOURNAL_ENTRY_STATUS_REVERSED]) == []
    resp = await stub.ListJournalEntries(api.ListJournalEntriesRequest(department=dept, page_size=1))
    assert resp.total_size == 6 and len(resp.journal_entries) == 1 and resp.next_page_token
    for bad, field in (
        (api.ListJournalEntriesRequest(source_id="nope"), "source_id"),
        (api.ListJournalEntriesRequest(statuses=[99]), "statuses"),
        (api.ListJournalEntriesRequest(start_date=day(year, 2, 1), end_date=day(year, 1, 1)), "end_date"),
        (api.ListJournalEntriesRequest(page_token="garbage"), "page_token"),
    ):
        err = await rpc_error(stub.ListJournalEntries(bad), Code.INVALID_ARGUMENT)
        assert field in violation_fields(err)
    await assert_books_balanced(stub, db)
