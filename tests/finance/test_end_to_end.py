"""Finance end to end with the real employee and accounting services, on databases
(`erptest_fin_`), subjects and ports of its own: journal entries posted through accounting's
PostJournalEntry (with a department) reach finance as JournalEntryPosted and are charged to
budgets (exceeded once per crossing, a reversal going back under); the reports equal
accounting's own answers field by field; the cash flow's net change equals the change of the
cash balance; the accounting cache, kept from events and rebuilt, equals the trial balance."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import asyncpg
import grpc
import pytest
from erp.accounting.v1 import accounting_pb2 as acc_pb
from erp.accounting.v1 import accounting_service_pb2 as acc
from erp.accounting.v1 import accounting_service_pb2_grpc as acc_grpc
from erp.employee.v1 import employee_service_pb2_grpc as emp_grpc
from erp.finance.v1 import finance_pb2 as pb
from erp.finance.v1 import finance_service_pb2 as api
from erp.finance.v1 import finance_service_pb2_grpc as api_grpc
from google.type.date_pb2 import Date
from nats.aio.client import Client

from services.ops.embedded import free_port
from services.runtime.events import dlq_stream_name, stream_name
from services.runtime.jetstream import connect, ensure_streams
from services.runtime.migrations import ensure_databases, upgrade
from services.runtime.serve import load_definition
from services.runtime.service import RunningService, start_service
from services.runtime.settings import SERVICES, Settings, to_libpq_url
from tests.finance.helpers import D, allocate, dec, finance_events, get_budget, new_department
from tests.runtime.helpers import eventually

pytestmark = pytest.mark.slow
NAMES = ("employee", "accounting", "finance")
Q1_START, Q1_END = Date(year=2031, month=1, day=1), Date(year=2031, month=3, day=31)
DEBIT_NORMAL = (acc_pb.ACCOUNT_TYPE_ASSET, acc_pb.ACCOUNT_TYPE_EXPENSE)


@dataclass
class World:
    settings: Settings
    nats: Client
    services: dict[str, RunningService]
    channels: dict[str, grpc.aio.Channel]
    finance_db: asyncpg.Connection

    @property
    def finance(self) -> api_grpc.FinanceServiceStub:
        return api_grpc.FinanceServiceStub(self.channels["finance"])

    @property
    def accounting(self) -> acc_grpc.AccountingServiceStub:
        return acc_grpc.AccountingServiceStub(self.channels["accounting"])

    @property
    def employees(self) -> emp_grpc.EmployeeServiceStub:
        return emp_grpc.EmployeeServiceStub(self.channels["employee"])


@pytest.fixture(scope="module")
async def world(settings: Settings) -> AsyncIterator[World]:
    own = replace(
        settings,
        database_prefix="erptest_fin_",
        subject_root=settings.subject_root + "fine2e",
        grpc_ports={s: free_port() for s in SERVICES},
    )
    await ensure_databases(own, list(NAMES))
    for name in NAMES:  # one at a time: Alembic's op/context proxies are process-global
        await asyncio.to_thread(upgrade, own, name)
    nc = await connect(own.require_nats_url(), "finance-e2e")
    await ensure_streams(nc.jetstream(), own.subject_root)
    services = {name: await start_service(load_definition(name), own) for name in NAMES}
    channels = {name: grpc.aio.insecure_channel(own.grpc_address(name)) for name in NAMES}
    conn = await asyncpg.connect(to_libpq_url(own.service_database_url("finance")))
    yield World(own, nc, services, channels, conn)
    await conn.close()
    for ch in channels.values():
        await ch.close()
    for running in services.values():
        await running.shutdown()
    js = nc.jetstream()
    for name in [*(stream_name(own.subject_root, s) for s in SERVICES), dlq_stream_name(own.subject_root)]:
        with contextlib.suppress(Exception):
            await js.delete_stream(name)
    await nc.close()


def line(code: str, debit: str = "0", credit: str = "0") -> acc.JournalEntryLineInput:
    return acc.JournalEntryLineInput(account_code=code, debit_amount=dec(debit), credit_amount=dec(credit))


async def post(w: World, when: Date, department: str, *lines: acc.JournalEntryLineInput) -> acc_pb.JournalEntry:
    request = acc.PostJournalEntryRequest(
        entry_date=when, description="e2e", reference=f"E2E-{uuid.uuid4().hex[:6]}", department=department, lines=lines
    )
    return (await w.accounting.PostJournalEntry(request)).journal_entry


async def settled(w: World, entries: int) -> None:
    """Finance has applied `entries` journal entries."""

    async def done() -> bool:
        return bool(await w.finance_db.fetchval("SELECT count(*) FROM applied_journal_entries") == entries)

    await eventually(done, timeout_s=20)


def normal_balance(tb_line: acc_pb.TrialBalanceLine) -> Decimal:
    net = D(tb_line.debit_balance) - D(tb_line.credit_balance)
    return net if tb_line.account_type in DEBIT_NORMAL else -net


async def assert_cache_equals_trial_balance(w: World, as_of: Date) -> acc_pb.TrialBalance:
    tb = (await w.accounting.GetTrialBalance(acc.GetTrialBalanceRequest(as_of_date=as_of))).trial_balance
    cached = (await w.finance.GetAccountingCache(api.GetAccountingCacheRequest())).entries
    expected = {x.account_code: (x.account_name, x.account_type, normal_balance(x)) for x in tb.lines}
    got = {e.account_code: (e.account_name, e.account_type, D(e.balance)) for e in cached if D(e.balance) != 0}
    assert {c: v[1:] for c, v in got.items()} == {c: v[1:] for c, v in expected.items()}
    return tb


def statement_lines(lines: Any) -> list[tuple[str, str, str]]:
    return [(x.account_code, x.account_name, x.amount.value) for x in lines]


async def generate(w: World, kind: int) -> pb.FinancialReport:
    request = api.GenerateFinancialReportRequest(report_type=kind, period_start=Q1_START, period_end=Q1_END)
    return (await w.finance.GenerateFinancialReport(request)).financial_report


async def test_postings_budgets_reports_and_cache(world: World) -> None:
    w = world
    dept = await new_department(w.employees)
    fin = w.finance
    quarterly = await allocate(
        fin, dept, 2031, quarter=1, allocated_amount=dec("10000.00"), start_date=Q1_START, end_date=Q1_END
    )
    annual = await allocate(fin, dept, 2031, allocated_amount=dec("50000.00"))

    await post(
        w, Date(year=2030, month=12, day=15), "", line("1010", debit="20000.00"), line("3100", credit="20000.00")
    )
    await post(w, Date(year=2031, month=1, day=2), "", line("1010", debit="30000.00"), line("3100", credit="30000.00"))
    await post(w, Date(year=2031, month=1, day=31), dept, line("5200", debit="6000.00"), line("2100", credit="6000.00"))
    await settled(w, 3)
    assert (await get_budget(fin, quarterly.id)).status == pb.BUDGET_STATUS_ACTIVE
    crossing = await post(
        w, Date(year=2031, month=2, day=28), dept, line("5200", debit="5000.00"), line("2100", credit="5000.00")
    )
    await post(w, Date(year=2031, month=3, day=1), dept, line("5200", debit="500.00"), line("2100", credit="500.00"))
    await settled(w, 5)
    b = await get_budget(fin, quarterly.id)
    assert (b.status, D(b.spent_amount)) == (pb.BUDGET_STATUS_EXCEEDED, D("11500"))
    assert len(await finance_events(w.finance_db, "BudgetExceeded", quarterly.id)) == 1

    # Accounting reverses the crossing entry (JournalEntryPosted + JournalEntryReversed): back under.
    await w.accounting.ReverseJournalEntry(
        acc.ReverseJournalEntryRequest(id=crossing.id, reversal_date=Date(year=2031, month=3, day=5), reason="typo")
    )
    await settled(w, 6)
    b = await get_budget(fin, quarterly.id)
    assert (b.status, D(b.spent_amount)) == (pb.BUDGET_STATUS_ACTIVE, D("6500"))
    await post(w, Date(year=2031, month=3, day=20), dept, line("5200", debit="4000.00"), line("2100", credit="4000.00"))
    await post(
        w, Date(year=2031, month=3, day=25), dept, line("2100", debit="11000.00"), line("1010", credit="11000.00")
    )
    await post(w, Date(year=2031, month=3, day=26), dept, line("1200", debit="3000.00"), line("4100", credit="3000.00"))
    await post(w, Date(year=2031, month=3, day=27), dept, line("1010", debit="3000.00"), line("1200", credit="3000.00"))
    await post(w, Date(year=2031, month=3, day=28), dept, line("5100", debit="200.00"), line("1010", credit="200.00"))
    await post(w, Date(year=2031, month=3, day=29), "", line("5200", debit="100.00"), line("1010", credit="100.00"))
    await settled(w, 12)

    b = await get_budget(fin, quarterly.id)
    assert (b.status, D(b.spent_amount), D(b.remaining_amount)) == (pb.BUDGET_STATUS_EXCEEDED, D("10500"), D("-500"))
    assert len(await finance_events(w.finance_db, "BudgetExceeded", quarterly.id)) == 2
    assert D((await get_budget(fin, annual.id)).spent_amount) == 0  # the quarterly budget came first
    loose = (await fin.ListUnattributedSpend(api.ListUnattributedSpendRequest(start_date=Q1_START))).unattributed_spend
    assert sorted((u.department, u.category, u.amount.value, u.reason) for u in loose) == [
        ("", "Salaries", "100.00", pb.UNATTRIBUTED_SPEND_REASON_NO_DEPARTMENT),
        (dept, "Cost of Sales", "200.00", pb.UNATTRIBUTED_SPEND_REASON_NO_MATCHING_BUDGET),
    ]

    # Income statement and balance sheet: accounting's own figures, field by field.
    income = await generate(w, pb.FINANCIAL_REPORT_TYPE_INCOME_STATEMENT)
    theirs = (
        await w.accounting.GetIncomeStatement(acc.GetIncomeStatementRequest(start_date=Q1_START, end_date=Q1_END))
    ).income_statement
    revenue, expenses = income.report_data.sections
    assert statement_lines(revenue.lines) == statement_lines(theirs.revenue)
    assert statement_lines(expenses.lines) == statement_lines(theirs.expenses)
    assert (revenue.total.value, expenses.total.value) == (theirs.total_revenue.value, theirs.total_expenses.value)
    totals = income.report_data.income_statement
    assert (totals.total_revenue, totals.total_expenses, totals.net_income) == (
        theirs.total_revenue,
        theirs.total_expenses,
        theirs.net_income,
    )
    assert D(totals.net_income) == D("3000") - D("10800")

    sheet = await generate(w, pb.FINANCIAL_REPORT_TYPE_BALANCE_SHEET)
    bs = (await w.accounting.GetBalanceSheet(acc.GetBalanceSheetRequest(as_of_date=Q1_END))).balance_sheet
    assets, liabilities, equity = sheet.report_data.sections
    assert statement_lines(assets.lines) == statement_lines(bs.assets)
    assert statement_lines(liabilities.lines) == statement_lines(bs.liabilities)
    assert statement_lines(equity.lines) == [
        *statement_lines(bs.equity),
        ("", "Current earnings (not yet closed)", bs.current_earnings.value),
    ]
    bt = sheet.report_data.balance_sheet
    assert (bt.total_assets, bt.total_liabilities, bt.total_equity, bt.balanced) == (
        bs.total_assets,
        bs.total_liabilities,
        bs.total_equity,
        True,
    )
    assert D(assets.total) == D(bs.total_assets) and D(equity.total) == D(bs.total_equity)

    # Cash flow: classified movements of 1010 whose net change is the change of its balance.
    flow = await generate(w, pb.FINANCIAL_REPORT_TYPE_CASH_FLOW)
    opening = await w.accounting.GetAccountBalance(
        acc.GetAccountBalanceRequest(account_code="1010", as_of_date=Date(year=2030, month=12, day=31))
    )
    closing = await w.accounting.GetAccountBalance(acc.GetAccountBalanceRequest(account_code="1010", as_of_date=Q1_END))
    ct = flow.report_data.cash_flow
    assert (D(ct.opening_cash), D(ct.closing_cash)) == (D(opening.balance.balance), D(closing.balance.balance))
    assert D(ct.net_change_in_cash) == D(closing.balance.balance) - D(opening.balance.balance) == D("21700")
    sections = {
        s.key: {x.account_code: (x.account_name, D(x.amount)) for x in s.lines} for s in flow.report_data.sections
    }
    assert sections["operating"]["1200"] == ("Receipts from customers", D("3000"))
    assert sections["operating"]["2100"] == ("Payments to employees", D("-11000"))
    assert sections["operating"]["5100"][1] == D("-200") and sections["operating"]["5200"][1] == D("-100")
    assert sections["financing"] == {"3100": ("Owner contributions and distributions: Retained Earnings", D("30000"))}
    assert sections["investing"] == {}
    assert (D(ct.net_operating), D(ct.net_financing)) == (D("-8300"), D("30000"))

    reports = await w.finance.ListFinancialReports(api.ListFinancialReportsRequest())
    assert [r.id for r in reports.financial_reports] == [flow.id, sheet.id, income.id]
    assert (await w.finance.GetFinancialReport(api.GetFinancialReportRequest(id=sheet.id))).financial_report == sheet
    for report in (income, sheet, flow):
        assert len(await finance_events(w.finance_db, "FinancialReportGenerated", report.id)) == 1

    # The cache kept from events already equals the trial balance; a rebuild keeps it so and
    # repairs a cache that went wrong.
    tb = await assert_cache_equals_trial_balance(w, Q1_END)
    await w.finance_db.execute("UPDATE accounting_data_cache SET balance = balance + 999 WHERE account_code = '1010'")
    rebuilt = await w.finance.RebuildAccountingCache(api.RebuildAccountingCacheRequest(as_of_date=Q1_END))
    assert rebuilt.entry_count == len(tb.lines)
    await assert_cache_equals_trial_balance(w, Q1_END)
    names = {
        e.account_code: e.account_name
        for e in (await w.finance.GetAccountingCache(api.GetAccountingCacheRequest())).entries
    }
    assert names["1010"] == "Cash/Bank"
