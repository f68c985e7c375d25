"""Reports on worked examples: ledger listing, account balance, trial balance, income statement
and balance sheet (assets = liabilities + equity, unclosed earnings inside equity)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import asyncpg
from erp.accounting.v1 import accounting_pb2 as pb
from erp.accounting.v1 import accounting_service_pb2 as api

from services.accounting import chart
from tests.accounting.helpers import (
    Code,
    D,
    Stub,
    assert_books_balanced,
    cr,
    create_account,
    day,
    dr,
    fresh_year,
    post,
    rpc_error,
    tag,
    violation_fields,
)


def lines_of(statement_lines: Any) -> dict[str, Decimal]:
    return {x.account_code: D(x.amount) for x in statement_lines}


async def test_account_balance_and_ledger_listing(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    bank = await create_account(stub, pb.ACCOUNT_TYPE_ASSET)
    loan = await create_account(stub, pb.ACCOUNT_TYPE_LIABILITY)
    for month, amount in ((1, "100.00"), (2, "50.00"), (3, "25.00"), (4, "12.50")):
        await post(stub, day(year, month, 10), dr(bank.account_code, amount), cr(loan.account_code, amount))
    await post(stub, day(year, 3, 20), dr(loan.account_code, "40.00"), cr(bank.account_code, "40.00"))

    async def bal(code: str, month: int, d: int) -> pb.AccountBalance:
        req = api.GetAccountBalanceRequest(account_code=code, as_of_date=day(year, month, d))
        return (await stub.GetAccountBalance(req)).balance

    b = await bal(bank.account_code, 3, 20)
    assert (D(b.total_debit), D(b.total_credit), D(b.balance)) == (
        Decimal("175.00"),
        Decimal("40.00"),
        Decimal("135.00"),
    )
    assert b.account_type == pb.ACCOUNT_TYPE_ASSET and b.account_name == bank.account_name
    assert D((await bal(loan.account_code, 3, 20)).balance) == Decimal("135.00")  # credit-normal: positive
    assert D((await bal(bank.account_code, 1, 9)).balance) == 0
    assert D((await bal(bank.account_code, 12, 31)).balance) == Decimal("147.50")
    today = await stub.GetAccountBalance(api.GetAccountBalanceRequest(account_code=bank.account_code))
    assert D(today.balance.balance) == 0  # the year is in the future

    first = await stub.ListLedgerEntries(
        api.ListLedgerEntriesRequest(account_code=bank.account_code, start_date=day(year, 2, 1), page_size=2)
    )
    assert D(first.opening_balance) == Decimal("100.00")
    assert first.total_size == 4
    rest = await stub.ListLedgerEntries(
        api.ListLedgerEntriesRequest(
            account_code=bank.account_code, start_date=day(year, 2, 1), page_size=2, page_token=first.next_page_token
        )
    )
    rows = [*first.ledger_entries, *rest.ledger_entries]
    assert [D(r.running_balance) for r in rows] == [Decimal(x) for x in ("150.00", "175.00", "135.00", "147.50")]
    assert [r.transaction_date.month for r in rows] == [2, 3, 3, 4]
    assert rest.next_page_token == ""
    window = await stub.ListLedgerEntries(
        api.ListLedgerEntriesRequest(account_code=bank.account_code, end_date=day(year, 1, 31))
    )
    assert [D(r.debit_amount) for r in window.ledger_entries] == [Decimal("100.00")]
    assert D(window.opening_balance) == 0

    await rpc_error(stub.GetAccountBalance(api.GetAccountBalanceRequest(account_code="nope")), Code.NOT_FOUND)
    err = await rpc_error(stub.GetAccountBalance(api.GetAccountBalanceRequest()), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["account_code"]
    err = await rpc_error(
        stub.GetAccountBalance(api.GetAccountBalanceRequest(account_code="1\x00")), Code.INVALID_ARGUMENT
    )
    assert violation_fields(err) == ["account_code"]
    await rpc_error(stub.ListLedgerEntries(api.ListLedgerEntriesRequest(account_code="nope")), Code.NOT_FOUND)
    err = await rpc_error(stub.ListLedgerEntries(api.ListLedgerEntriesRequest()), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["account_code"]
    bad_range = api.ListLedgerEntriesRequest(
        account_code=chart.CASH, start_date=day(year, 2, 1), end_date=day(year, 1, 1)
    )
    assert violation_fields(await rpc_error(stub.ListLedgerEntries(bad_range), Code.INVALID_ARGUMENT)) == ["end_date"]
    await assert_books_balanced(stub, db)


async def test_trial_balance(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    cash = await create_account(stub, pb.ACCOUNT_TYPE_ASSET)
    sales = await create_account(stub, pb.ACCOUNT_TYPE_REVENUE)
    await post(stub, day(year, 5, 5), dr(cash.account_code, "80.00"), cr(sales.account_code, "80.00"))
    await post(stub, day(year, 5, 6), dr(sales.account_code, "100.00"), cr(cash.account_code, "100.00"))

    async def tb(month: int, d: int) -> pb.TrialBalance:
        return (await stub.GetTrialBalance(api.GetTrialBalanceRequest(as_of_date=day(year, month, d)))).trial_balance

    before = await tb(5, 4)
    assert cash.account_code not in {x.account_code for x in before.lines}
    after = await tb(5, 6)
    rows = {x.account_code: (D(x.debit_balance), D(x.credit_balance)) for x in after.lines}
    assert rows[cash.account_code] == (Decimal("0"), Decimal("20.00"))  # an overdrawn asset sits on the credit side
    assert rows[sales.account_code] == (Decimal("20.00"), Decimal("0"))
    assert after.balanced and D(after.total_debit) == D(after.total_credit)
    assert D(after.total_debit) - D(before.total_debit) == Decimal("20.00")
    assert (await stub.GetTrialBalance(api.GetTrialBalanceRequest())).trial_balance.balanced
    await assert_books_balanced(stub, db)


async def test_income_statement_worked_example(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    dept = f"Dept {tag()}"
    sales = await create_account(stub, pb.ACCOUNT_TYPE_REVENUE)
    cogs = await create_account(stub, pb.ACCOUNT_TYPE_EXPENSE)
    wages = await create_account(stub, pb.ACCOUNT_TYPE_EXPENSE)
    await post(
        stub,
        day(year, 4, 2),
        dr(chart.ACCOUNTS_RECEIVABLE, "2000.00"),
        cr(sales.account_code, "2000.00"),
        department=dept,
    )
    await post(stub, day(year, 4, 9), dr(cogs.account_code, "800.00"), cr(chart.INVENTORY, "800.00"), department=dept)
    await post(
        stub, day(year, 5, 31), dr(wages.account_code, "500.00"), cr(chart.SALARY_PAYABLE, "500.00"), department=dept
    )
    # Another department, a day outside the period, and an entry and its reversal.
    await post(stub, day(year, 4, 15), dr(wages.account_code, "70.00"), cr(chart.CASH, "70.00"), department="Other")
    await post(stub, day(year, 7, 1), dr(cogs.account_code, "5.00"), cr(chart.INVENTORY, "5.00"), department=dept)
    mistake = await post(
        stub, day(year, 4, 20), dr(chart.CASH, "9.00"), cr(sales.account_code, "9.00"), department=dept
    )
    await stub.ReverseJournalEntry(
        api.ReverseJournalEntryRequest(id=mistake.id, reversal_date=day(year, 4, 21), reason="duplicate")
    )

    req = api.GetIncomeStatementRequest(start_date=day(year, 4, 1), end_date=day(year, 6, 30), department=dept)
    s = (await stub.GetIncomeStatement(req)).income_statement
    assert lines_of(s.revenue) == {sales.account_code: Decimal("2000.00")}
    assert lines_of(s.expenses) == {cogs.account_code: Decimal("800.00"), wages.account_code: Decimal("500.00")}
    assert (D(s.total_revenue), D(s.total_expenses), D(s.net_income)) == (
        Decimal("2000.00"),
        Decimal("1300.00"),
        Decimal("700.00"),
    )
    assert s.department == dept
    whole = await stub.GetIncomeStatement(
        api.GetIncomeStatementRequest(start_date=day(year, 4, 1), end_date=day(year, 6, 30))
    )
    assert lines_of(whole.income_statement.expenses)[wages.account_code] == Decimal("570.00")
    for bad, fields in (
        (api.GetIncomeStatementRequest(end_date=day(year, 1, 1)), ["start_date"]),
        (api.GetIncomeStatementRequest(start_date=day(year, 2, 1), end_date=day(year, 1, 1)), ["end_date"]),
    ):
        assert violation_fields(await rpc_error(stub.GetIncomeStatement(bad), Code.INVALID_ARGUMENT)) == fields
    await assert_books_balanced(stub, db)


async def test_balance_sheet_worked_example(stub: Stub, db: asyncpg.Connection) -> None:
    year = fresh_year()
    end = day(year, 12, 31)
    bank = await create_account(stub, pb.ACCOUNT_TYPE_ASSET)
    receivable = await create_account(stub, pb.ACCOUNT_TYPE_ASSET)
    payable = await create_account(stub, pb.ACCOUNT_TYPE_LIABILITY)
    capital = await create_account(stub, pb.ACCOUNT_TYPE_EQUITY)
    sales = await create_account(stub, pb.ACCOUNT_TYPE_REVENUE)
    costs = await create_account(stub, pb.ACCOUNT_TYPE_EXPENSE)

    async def sheet() -> pb.BalanceSheet:
        return (await stub.GetBalanceSheet(api.GetBalanceSheetRequest(as_of_date=end))).balance_sheet

    before = await sheet()
    await post(stub, day(year, 1, 2), dr(bank.account_code, "10000.00"), cr(capital.account_code, "10000.00"))
    await post(stub, day(year, 2, 1), dr(receivable.account_code, "3000.00"), cr(sales.account_code, "3000.00"))
    await post(stub, day(year, 3, 1), dr(bank.account_code, "1000.00"), cr(receivable.account_code, "1000.00"))
    await post(stub, day(year, 4, 1), dr(costs.account_code, "1200.00"), cr(bank.account_code, "1200.00"))
    await post(stub, day(year, 5, 1), dr(costs.account_code, "400.00"), cr(payable.account_code, "400.00"))
    after = await sheet()

    assert lines_of(after.assets)[bank.account_code] == Decimal("9800.00")
    assert lines_of(after.assets)[receivable.account_code] == Decimal("2000.00")
    assert lines_of(after.liabilities)[payable.account_code] == Decimal("400.00")
    assert lines_of(after.equity)[capital.account_code] == Decimal("10000.00")

    def delta(field: str) -> Decimal:
        return D(getattr(after, field)) - D(getattr(before, field))

    assert delta("total_assets") == Decimal("11800.00")
    assert delta("total_liabilities") == Decimal("400.00")
    assert delta("current_earnings") == Decimal("1400.00")  # 3000 revenue - 1600 expenses, not closed yet
    assert delta("total_equity") == Decimal("11400.00")
    assert after.balanced and D(after.total_assets) == D(after.total_liabilities) + D(after.total_equity)
    assert (await stub.GetBalanceSheet(api.GetBalanceSheetRequest())).balance_sheet.balanced
    await assert_books_balanced(stub, db)


async def test_reports_reject_impossible_dates(stub: Stub) -> None:
    bad = day(2024, 2, 30)
    calls = [
        (stub.GetTrialBalance(api.GetTrialBalanceRequest(as_of_date=bad)), "as_of_date"),
        (stub.GetBalanceSheet(api.GetBalanceSheetRequest(as_of_date=bad)), "as_of_date"),
        (stub.GetAccountBalance(api.GetAccountBalanceRequest(account_code=chart.CASH, as_of_date=bad)), "as_of_date"),
        (
            stub.GetIncomeStatement(api.GetIncomeStatementRequest(start_date=bad, end_date=day(2024, 3, 1))),
            "start_date",
        ),
        (stub.ListLedgerEntries(api.ListLedgerEntriesRequest(account_code=chart.CASH, start_date=bad)), "start_date"),
    ]
    for call, field in calls:
        assert violation_fields(await rpc_error(call, Code.INVALID_ARGUMENT)) == [field]
