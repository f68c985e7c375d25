"""Fiscal periods: on-demand creation, CreateFiscalPeriod, CloseFiscalPeriod, closed-period
rejection, ListFiscalPeriods and the year-end close into retained earnings."""

from __future__ import annotations

import uuid
from decimal import Decimal

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
    dr,
    events_since,
    fresh_year,
    outbox_mark,
    post,
    post_request,
    rejected,
    rpc_error,
    violation_fields,
)


async def periods_of(stub: Stub, year: int) -> list[pb.FiscalPeriod]:
    return list((await stub.ListFiscalPeriods(api.ListFiscalPeriodsRequest(fiscal_year=year))).fiscal_periods)


async def test_posting_opens_the_month_period_on_demand(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    assert await periods_of(stub, year) == []
    await post(stub, day(year, 2, 14), dr(chart.CASH, "1.00"), cr(chart.SALES_REVENUE, "1.00"))
    await post(stub, day(year, 2, 29 if year % 4 == 0 else 28), dr(chart.CASH, "1.00"), cr(chart.SALES_REVENUE, "1.00"))
    [period] = await periods_of(stub, year)
    assert (period.period_number, period.status) == (2, pb.FISCAL_PERIOD_STATUS_OPEN)
    assert (period.start_date.month, period.start_date.day, period.end_date.month) == (2, 1, 2)
    assert not period.HasField("closed_at")
    await assert_books_balanced(stub, db)


async def test_create_fiscal_period_and_its_errors(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    req = api.CreateFiscalPeriodRequest(
        fiscal_year=year, period_number=1, start_date=day(year, 1, 1), end_date=day(year, 1, 15)
    )
    period = (await stub.CreateFiscalPeriod(req)).fiscal_period
    assert (period.fiscal_year, period.period_number, period.status) == (year, 1, pb.FISCAL_PERIOD_STATUS_OPEN)
    assert (period.end_date.month, period.end_date.day) == (1, 15)

    def create(
        number: int, start: tuple[int, int], end: tuple[int, int], y: int = year
    ) -> api.CreateFiscalPeriodRequest:
        return api.CreateFiscalPeriodRequest(
            fiscal_year=y, period_number=number, start_date=day(year, *start), end_date=day(year, *end)
        )

    cases: list[tuple[api.CreateFiscalPeriodRequest, Code, tuple[str, ...]]] = [
        (create(1, (2, 1), (2, 28)), Code.ALREADY_EXISTS, ()),
        (create(2, (1, 10), (1, 31)), Code.FAILED_PRECONDITION, ()),
        (create(2, (2, 10), (2, 1)), Code.INVALID_ARGUMENT, ("end_date",)),
        (create(13, (2, 1), (2, 28)), Code.INVALID_ARGUMENT, ("period_number",)),
        (create(0, (2, 1), (2, 28)), Code.INVALID_ARGUMENT, ("period_number",)),
        (create(2, (2, 1), (2, 28), y=0), Code.INVALID_ARGUMENT, ("fiscal_year",)),
        (api.CreateFiscalPeriodRequest(fiscal_year=year, period_number=3), Code.INVALID_ARGUMENT,
         ("start_date", "end_date")),
    ]  # fmt: skip
    for r, code, fields in cases:
        await rejected(db, lambda r=r: stub.CreateFiscalPeriod(r), code, fields=fields)
    # A posting after the custom period's end gets no on-demand month (it would overlap).
    err = await rejected(
        db,
        lambda: stub.PostJournalEntry(
            post_request(day(year, 1, 20), dr(chart.CASH, "1"), cr(chart.SALES_REVENUE, "1"))
        ),
        Code.FAILED_PRECONDITION,
    )
    assert "no fiscal period covers" in err.details()
    await assert_books_balanced(stub, db)


async def test_close_fiscal_period(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    entry = await post(stub, day(year, 4, 10), dr(chart.CASH, "9.00"), cr(chart.SALES_REVENUE, "9.00"))
    [period] = await periods_of(stub, year)
    mark = await outbox_mark(db)
    closed = (await stub.CloseFiscalPeriod(api.CloseFiscalPeriodRequest(id=period.id), metadata=CALLER)).fiscal_period
    assert closed.status == pb.FISCAL_PERIOD_STATUS_CLOSED
    assert closed.closed_by == USER_ID and closed.HasField("closed_at")
    [event] = await events_since(db, mark)
    assert type(event).__name__ == "FiscalPeriodClosed"
    assert (event.fiscal_period_id, event.fiscal_year, event.period_number) == (period.id, year, 4)

    close_again = api.CloseFiscalPeriodRequest(id=period.id)
    err = await rejected(db, lambda: stub.CloseFiscalPeriod(close_again), Code.FAILED_PRECONDITION)
    assert "already closed" in err.details()
    await rejected(
        db, lambda: stub.CloseFiscalPeriod(api.CloseFiscalPeriodRequest(id=str(uuid.uuid4()))), Code.NOT_FOUND
    )
    await rejected(
        db, lambda: stub.CloseFiscalPeriod(api.CloseFiscalPeriodRequest(id="x")), Code.INVALID_ARGUMENT, fields=("id",)
    )

    # Closed: no posting dated in it, and no reversal dated in it either.
    req = post_request(day(year, 4, 30), dr(chart.CASH, "1.00"), cr(chart.SALES_REVENUE, "1.00"))
    err = await rejected(db, lambda: stub.PostJournalEntry(req), Code.FAILED_PRECONDITION)
    assert f"{year}-04 is closed" in err.details()
    rev = api.ReverseJournalEntryRequest(id=entry.id, reversal_date=day(year, 4, 11), reason="x")
    await rejected(db, lambda: stub.ReverseJournalEntry(rev), Code.FAILED_PRECONDITION)
    # The entry itself can still be reversed in an open period.
    later = api.ReverseJournalEntryRequest(id=entry.id, reversal_date=day(year, 5, 1), reason="x")
    assert (await stub.ReverseJournalEntry(later)).reversal_entry.entry_date.month == 5
    await assert_books_balanced(stub, db)


async def test_list_fiscal_periods(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    for month in (5, 1, 3):
        await post(stub, day(year, month, 2), dr(chart.CASH, "1.00"), cr(chart.SALES_REVENUE, "1.00"))
    periods = await periods_of(stub, year)
    assert [p.period_number for p in periods] == [1, 3, 5]
    await stub.CloseFiscalPeriod(api.CloseFiscalPeriodRequest(id=periods[1].id))
    closed = await stub.ListFiscalPeriods(
        api.ListFiscalPeriodsRequest(fiscal_year=year, statuses=[pb.FISCAL_PERIOD_STATUS_CLOSED])
    )
    assert [p.period_number for p in closed.fiscal_periods] == [3] and closed.total_size == 1
    page = await stub.ListFiscalPeriods(api.ListFiscalPeriodsRequest(fiscal_year=year, page_size=2))
    assert [p.period_number for p in page.fiscal_periods] == [1, 3] and page.total_size == 3
    rest = await stub.ListFiscalPeriods(
        api.ListFiscalPeriodsRequest(fiscal_year=year, page_size=2, page_token=page.next_page_token)
    )
    assert [p.period_number for p in rest.fiscal_periods] == [5] and rest.next_page_token == ""
    err = await rpc_error(stub.ListFiscalPeriods(api.ListFiscalPeriodsRequest(statuses=[7])), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["statuses"]
    await assert_books_balanced(stub, db)


async def balance(stub: Stub, code: str, year: int) -> Decimal:
    req = api.GetAccountBalanceRequest(account_code=code, as_of_date=day(year, 12, 31))
    return D((await stub.GetAccountBalance(req)).balance.balance)


async def test_close_fiscal_year_moves_profit_and_loss_to_retained_earnings(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    await post(stub, day(year, 2, 3), dr(chart.CASH, "1000.00"), cr(chart.SALES_REVENUE, "1000.00"))
    await post(stub, day(year, 6, 30), dr(chart.SALARY_EXPENSE, "600.00"), cr(chart.CASH, "600.00"))
    await post(stub, day(year, 9, 1), dr(chart.STOCK_ADJUSTMENT, "100.00"), cr(chart.INVENTORY, "100.00"))
    before = {
        c: await balance(stub, c, year) for c in (chart.SALES_REVENUE, chart.SALARY_EXPENSE, chart.RETAINED_EARNINGS)
    }
    mark = await outbox_mark(db)
    req = api.CloseFiscalYearRequest(fiscal_year=year, retained_earnings_account_code=chart.RETAINED_EARNINGS)
    resp = await stub.CloseFiscalYear(req, metadata=CALLER)

    assert D(resp.net_income) == Decimal("300.00")
    closing = resp.closing_entry
    assert (closing.entry_date.month, closing.entry_date.day) == (12, 31)
    assert closing.source_service == "accounting" and closing.journal_number == f"JE-{year}-000004"
    assert sorted((x.account_code, D(x.debit_amount), D(x.credit_amount)) for x in closing.lines) == sorted(
        [
            (chart.SALES_REVENUE, Decimal("1000.00"), Decimal("0")),
            (chart.SALARY_EXPENSE, Decimal("0"), Decimal("600.00")),
            (chart.STOCK_ADJUSTMENT, Decimal("0"), Decimal("100.00")),
            (chart.RETAINED_EARNINGS, Decimal("0"), Decimal("300.00")),
        ]
    )
    assert [p.period_number for p in resp.fiscal_periods] == list(range(1, 13))
    assert all(p.status == pb.FISCAL_PERIOD_STATUS_CLOSED for p in resp.fiscal_periods)
    events = await events_since(db, mark)
    assert [type(e).__name__ for e in events] == ["JournalEntryPosted"] + ["FiscalPeriodClosed"] * 12
    assert events[0].is_closing is True  # finance counts no spending in it

    # The year's P&L is now in retained earnings; the statement of the year still shows it.
    assert await balance(stub, chart.SALES_REVENUE, year) == before[chart.SALES_REVENUE] - Decimal("1000.00")
    assert await balance(stub, chart.SALARY_EXPENSE, year) == before[chart.SALARY_EXPENSE] - Decimal("600.00")
    assert await balance(stub, chart.RETAINED_EARNINGS, year) == before[chart.RETAINED_EARNINGS] + Decimal("300.00")
    statement = await stub.GetIncomeStatement(
        api.GetIncomeStatementRequest(start_date=day(year, 1, 1), end_date=day(year, 12, 31))
    )
    assert D(statement.income_statement.net_income) == Decimal("300.00")
    sheet = (await stub.GetBalanceSheet(api.GetBalanceSheetRequest(as_of_date=day(year, 12, 31)))).balance_sheet
    assert sheet.balanced

    # Nothing more can be dated in the year, not even in months that had no period before.
    for month in (1, 11, 12):
        r = post_request(day(year, month, 5), dr(chart.CASH, "1.00"), cr(chart.SALES_REVENUE, "1.00"))
        await rejected(db, lambda r=r: stub.PostJournalEntry(r), Code.FAILED_PRECONDITION)
    err = await rejected(db, lambda: stub.CloseFiscalYear(req), Code.FAILED_PRECONDITION)
    assert "already closed" in err.details()
    undo = api.ReverseJournalEntryRequest(id=closing.id, reversal_date=day(year + 1000, 1, 1), reason="undo")
    err = await rejected(db, lambda: stub.ReverseJournalEntry(undo), Code.FAILED_PRECONDITION)
    assert "closing entry" in err.details()
    await assert_books_balanced(stub, db)


async def test_close_fiscal_year_with_a_loss_on_an_inactive_account(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    expense = await create_account(stub, pb.ACCOUNT_TYPE_EXPENSE)
    await post(stub, day(year, 3, 3), dr(expense.account_code, "250.00"), cr(chart.CASH, "250.00"))
    await stub.UpdateAccount(
        api.UpdateAccountRequest(
            account=pb.Account(id=expense.id, is_active=False), update_mask=FieldMask(paths=["is_active"])
        )
    )
    req = api.CloseFiscalYearRequest(fiscal_year=year, retained_earnings_account_code=chart.RETAINED_EARNINGS)
    resp = await stub.CloseFiscalYear(req)
    assert D(resp.net_income) == Decimal("-250.00")
    assert sorted((x.account_code, D(x.debit_amount), D(x.credit_amount)) for x in resp.closing_entry.lines) == sorted(
        [
            (expense.account_code, Decimal("0"), Decimal("250.00")),
            (chart.RETAINED_EARNINGS, Decimal("250.00"), Decimal("0")),
        ]
    )
    assert await balance(stub, expense.account_code, year) == 0
    await assert_books_balanced(stub, db)


async def test_close_fiscal_year_without_activity_posts_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    req = api.CloseFiscalYearRequest(fiscal_year=year, retained_earnings_account_code=chart.RETAINED_EARNINGS)
    resp = await stub.CloseFiscalYear(req)
    assert not resp.HasField("closing_entry") and D(resp.net_income) == 0
    assert len(resp.fiscal_periods) == 12
    await assert_books_balanced(stub, db)


async def test_close_fiscal_year_errors_write_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    await post(stub, day(year, 12, 5), dr(chart.CASH, "10.00"), cr(chart.SALES_REVENUE, "10.00"))
    [december] = await periods_of(stub, year)
    await stub.CloseFiscalPeriod(api.CloseFiscalPeriodRequest(id=december.id))
    cases: list[tuple[api.CloseFiscalYearRequest, Code, tuple[str, ...]]] = [
        (api.CloseFiscalYearRequest(fiscal_year=year), Code.INVALID_ARGUMENT, ("retained_earnings_account_code",)),
        (api.CloseFiscalYearRequest(retained_earnings_account_code=chart.RETAINED_EARNINGS), Code.INVALID_ARGUMENT,
         ("fiscal_year",)),
        (api.CloseFiscalYearRequest(fiscal_year=year, retained_earnings_account_code="nope"), Code.INVALID_ARGUMENT,
         ("retained_earnings_account_code",)),
        (api.CloseFiscalYearRequest(fiscal_year=year, retained_earnings_account_code=chart.CASH), Code.INVALID_ARGUMENT,
         ("retained_earnings_account_code",)),
        # The closing entry would be dated in December, which is closed already.
        (api.CloseFiscalYearRequest(fiscal_year=year, retained_earnings_account_code=chart.RETAINED_EARNINGS),
         Code.FAILED_PRECONDITION, ()),
    ]  # fmt: skip
    for r, code, fields in cases:
        await rejected(db, lambda r=r: stub.CloseFiscalYear(r), code, fields=fields)
    await assert_books_balanced(stub, db)
