"""Finance rules without I/O: budget arithmetic and statuses, spend categories and attribution,
balance deltas, the cash flow classification and the statements built from accounting's."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from erp.accounting.v1 import accounting_pb2 as acc_pb
from erp.accounting.v1 import events_pb2 as acc_ev
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal

from services.finance import cashflow, domain, reports
from services.finance.domain import BudgetStatus, Candidate, PostedEntry, PostedLine
from services.finance.handlers import entry_from_posted, entry_from_reversed
from services.finance.jobs import DEFAULT_INTERVAL_S, interval_from_env
from services.runtime.errors import FailedPrecondition, InvalidArgument, Validator

D = Decimal


def test_utilization_is_rounded_and_capped_to_numeric_5_2() -> None:
    assert domain.utilization(D("1000.00"), D("875.00")) == D("87.50")
    assert domain.utilization(D("3.00"), D("1.00")) == D("33.33")
    assert domain.utilization(D("3.00"), D("2.00")) == D("66.67")
    assert domain.utilization(D("1.00"), D("50.00")) == D("999.99")
    assert domain.utilization(D("1.00"), D("-50.00")) == D("-999.99")
    assert domain.utilization(D("0"), D("0")) == 0
    assert domain.utilization(D("0"), D("5")) == D("999.99")


@pytest.mark.parametrize(
    ("spent", "status", "expected"),
    [
        ("999.99", "active", BudgetStatus.ACTIVE),
        ("1000.00", "active", BudgetStatus.ACTIVE),  # at the allocation is not above it
        ("1000.01", "active", BudgetStatus.EXCEEDED),
        ("999.00", "exceeded", BudgetStatus.ACTIVE),  # back under (a reversal)
        ("5000.00", "closed", BudgetStatus.CLOSED),
    ],
)
def test_status_follows_spending(spent: str, status: str, expected: BudgetStatus) -> None:
    fig = domain.figures(D("1000.00"), D(spent), status)
    assert fig.status == expected
    assert fig.remaining == D("1000.00") - D(spent)


def test_exceeded_is_announced_once_per_crossing() -> None:
    over = domain.figures(D("100"), D("150"), "active")
    assert domain.crossed_into_exceeded("active", over)
    assert not domain.crossed_into_exceeded("exceeded", domain.figures(D("100"), D("160"), "exceeded"))
    assert not domain.crossed_into_exceeded("exceeded", domain.figures(D("100"), D("90"), "exceeded"))


def test_closed_budgets_do_not_change() -> None:
    with pytest.raises(FailedPrecondition):
        domain.ensure_open("closed", uuid.uuid4())
    domain.ensure_open("exceeded", uuid.uuid4())


def test_budget_field_validation_reports_every_field() -> None:
    v = Validator()
    domain.validate_budget_fields(
        v,
        {
            "department": "",
            "category": "x" * 101,
            "fiscal_year": 0,
            "quarter": 5,
            "allocated_amount": D("0"),
            "start_date": date(2030, 2, 1),
            "end_date": date(2030, 1, 1),
        },
    )
    assert sorted({x.field for x in v.violations}) == [
        "allocated_amount",
        "category",
        "department",
        "end_date",
        "fiscal_year",
        "quarter",
    ]
    assert domain.quarter_from_pb(0) is None and domain.quarter_from_pb(3) == 3


def _entry(source: str, *lines: tuple[str, str, str, str], department: str | None = "Ops") -> PostedEntry:
    return PostedEntry(
        journal_entry_id=uuid.uuid4(),
        journal_number="JE-1",
        entry_date=date(2030, 5, 1),
        source_service=source,
        reference="r",
        department=department,
        description="d",
        lines=tuple(
            PostedLine(i, code, kind, D(debit), D(credit), "") for i, (code, kind, debit, credit) in enumerate(lines, 1)
        ),
    )


def test_spend_categories_come_from_one_table() -> None:
    entry = _entry(
        "manual",
        ("5100", "expense", "1.00", "0"),
        ("5200", "expense", "2.00", "0"),
        ("5300", "expense", "3.00", "0"),
        ("5999", "expense", "4.00", "0"),
        ("5200", "expense", "0", "0.50"),  # a credit is negative spending
        ("5200", "expense", "0", "0"),  # nothing
        ("1010", "asset", "0", "9.50"),
    )
    got = [(s.line_number, s.category, s.amount) for s in domain.spend_lines(entry)]
    assert got == [
        (1, "Cost of Sales", D("1.00")),
        (2, "Salaries", D("2.00")),
        (3, "Inventory Losses", D("3.00")),
        (4, "Operating", D("4.00")),
        (5, "Salaries", D("-0.50")),
    ]


def test_procurement_inventory_debits_are_purchasing_and_year_end_is_no_spending() -> None:
    bought = _entry("procurement", ("1300", "asset", "250.00", "0"), ("2050", "liability", "0", "250.00"))
    assert [(s.category, s.amount) for s in domain.spend_lines(bought)] == [("Purchasing", D("250.00"))]
    moved = _entry("inventory", ("1300", "asset", "250.00", "0"), ("2050", "liability", "0", "250.00"))
    assert domain.spend_lines(moved) == []
    closing = _entry("accounting", ("3100", "equity", "10", "0"), ("5200", "expense", "0", "10"))
    assert domain.spend_lines(closing) == []  # an event from before the is_closing flag
    flagged = replace(_entry("manual", ("3100", "equity", "10", "0"), ("5200", "expense", "0", "10")), is_closing=True)
    assert domain.spend_lines(flagged) == []
    assert len(domain.spend_lines(replace(flagged, is_closing=False))) == 1


def test_balance_deltas_are_on_the_normal_side() -> None:
    entry = _entry(
        "manual",
        ("1010", "asset", "100", "0"),
        ("1010", "asset", "0", "30"),
        ("2100", "liability", "0", "70"),
    )
    assert domain.balance_deltas(entry) == {"1010": ("asset", D("70")), "2100": ("liability", D("70"))}


def test_choose_budget_prefers_an_open_quarterly_budget_containing_the_date() -> None:
    annual = Candidate(uuid.uuid4(), None, date(2030, 1, 1), date(2030, 12, 31), "active")
    q2 = Candidate(uuid.uuid4(), 2, date(2030, 4, 1), date(2030, 6, 30), "exceeded")
    closed_q3 = Candidate(uuid.uuid4(), 3, date(2030, 7, 1), date(2030, 9, 30), "closed")
    assert domain.choose_budget([annual, q2, closed_q3], date(2030, 5, 1)) == q2.id
    assert domain.choose_budget([annual, q2, closed_q3], date(2030, 8, 1)) == annual.id
    assert domain.choose_budget([q2, closed_q3], date(2030, 8, 1)) is None
    assert domain.choose_budget([annual], date(2031, 1, 1)) is None


def _cash(*lines: tuple[str, str, str]) -> list[cashflow.CashLine]:
    return [cashflow.CashLine(code, D(debit), D(credit)) for code, debit, credit in lines]


def test_cash_flow_classifies_movements_by_counter_account() -> None:
    entries = [
        _cash(("1010", "300", "0"), ("1200", "0", "300")),  # customer pays
        _cash(("2100", "1000", "0"), ("1010", "0", "1000")),  # salaries paid
        _cash(("2010", "400", "0"), ("1010", "0", "400")),  # supplier paid
        _cash(("1010", "5000", "0"), ("3100", "0", "5000")),  # owner puts money in
        _cash(("1500", "700", "0"), ("1010", "0", "700")),  # equipment bought
        _cash(("5200", "10", "0"), ("2100", "0", "10")),  # no cash: ignored
        _cash(("1010", "110", "0"), ("4100", "0", "100"), ("2300", "0", "10")),  # cash sale with tax
    ]
    accounts = {"3100": ("equity", "Retained Earnings"), "1500": ("asset", "Equipment"), "4100": ("revenue", "Sales")}
    flow = cashflow.statement(entries, accounts, D("1000"), D("4310"))
    assert flow.net("operating") == D("300") - D("1000") - D("400") + D("110")
    assert flow.net("investing") == D("-700")
    assert flow.net("financing") == D("5000")
    assert flow.net_change == D("3310")
    operating = {f.account_code: (f.caption, f.amount) for f in flow.sections[0].flows}
    assert operating["1200"] == ("Receipts from customers", D("300"))
    assert operating["2100"] == ("Payments to employees", D("-1000"))
    assert operating["2010"] == ("Payments to suppliers", D("-400"))
    assert operating["4100"] == ("Other operating receipts: Sales", D("100"))
    assert operating["2300"] == ("Sales tax", D("10"))
    with pytest.raises(FailedPrecondition):
        cashflow.statement(entries, accounts, D("1000"), D("9999"))


def _line(code: str, kind: int, amount: str) -> acc_pb.StatementLine:
    return acc_pb.StatementLine(
        account_code=code, account_name=f"A{code}", account_type=kind, amount=PbDecimal(value=amount)
    )


def test_balance_sheet_shows_current_earnings_and_refuses_to_be_unbalanced() -> None:
    sheet = acc_pb.BalanceSheet(
        as_of_date=Date(year=2030, month=3, day=31),
        assets=[_line("1010", acc_pb.ACCOUNT_TYPE_ASSET, "150.00")],
        liabilities=[_line("2100", acc_pb.ACCOUNT_TYPE_LIABILITY, "20.00")],
        equity=[_line("3100", acc_pb.ACCOUNT_TYPE_EQUITY, "100.00")],
        current_earnings=PbDecimal(value="30.00"),
        total_assets=PbDecimal(value="150.00"),
        total_liabilities=PbDecimal(value="20.00"),
        total_equity=PbDecimal(value="130.00"),
        balanced=True,
    )
    data = reports.balance_sheet(sheet)
    equity = data.sections[2]
    assert [(x.account_code, x.amount.value) for x in equity.lines] == [("3100", "100.00"), ("", "30.00")]
    assert equity.total.value == "130.00" and data.balance_sheet.balanced
    broken = acc_pb.BalanceSheet()
    broken.CopyFrom(sheet)
    broken.total_assets.value = "151.00"
    with pytest.raises(FailedPrecondition, match="does not balance"):
        reports.balance_sheet(broken)


def test_income_statement_copies_accounting_lines_and_totals() -> None:
    statement = acc_pb.IncomeStatement(
        revenue=[_line("4100", acc_pb.ACCOUNT_TYPE_REVENUE, "500.00")],
        expenses=[
            _line("5100", acc_pb.ACCOUNT_TYPE_EXPENSE, "120.00"),
            _line("5200", acc_pb.ACCOUNT_TYPE_EXPENSE, "80.00"),
        ],
        total_revenue=PbDecimal(value="500.00"),
        total_expenses=PbDecimal(value="200.00"),
        net_income=PbDecimal(value="300.00"),
    )
    data = reports.income_statement(statement)
    assert [s.key for s in data.sections] == ["revenue", "expenses"]
    assert data.sections[1].total.value == "200.00"
    assert data.income_statement.net_income.value == "300.00"


def test_events_become_posted_entries() -> None:
    posted = acc_ev.JournalEntryPosted(
        journal_entry_id=str(uuid.uuid4()),
        journal_number="JE-2030-000001",
        entry_date=Date(year=2030, month=1, day=2),
        source_service="payroll",
        department=" Ops ",
        lines=[
            acc_ev.PostedJournalLine(
                line_number=1,
                account_code="5200",
                account_type=acc_pb.ACCOUNT_TYPE_EXPENSE,
                debit_amount=PbDecimal(value="10.00"),
            )
        ],
    )
    entry = entry_from_posted(posted)
    assert (entry.department, entry.lines[0].account_type, entry.lines[0].credit) == ("Ops", "expense", 0)
    assert entry.reversal_of_id is None
    reversed_ = acc_ev.JournalEntryReversed(
        journal_entry_id=posted.journal_entry_id,
        journal_number="JE-2030-000001",
        reversal_entry_id=str(uuid.uuid4()),
        reversal_journal_number="JE-2030-000002",
        reversal_date=Date(year=2030, month=2, day=1),
        lines=posted.lines,
    )
    twin = entry_from_reversed(reversed_)
    assert str(twin.journal_entry_id) == reversed_.reversal_entry_id
    assert str(twin.reversal_of_id) == posted.journal_entry_id and twin.department is None
    with pytest.raises(InvalidArgument):
        entry_from_posted(acc_ev.JournalEntryPosted(journal_entry_id="x", entry_date=Date(year=2030, month=1, day=1)))


def test_close_interval_setting() -> None:
    assert interval_from_env({}) == DEFAULT_INTERVAL_S
    assert interval_from_env({"ERP_FINANCE_BUDGET_CLOSE_INTERVAL_S": " 60 "}) == 60
    with pytest.raises(ValueError):
        interval_from_env({"ERP_FINANCE_BUDGET_CLOSE_INTERVAL_S": "0"})
