"""Ledger rules without I/O: balance checks, reversal lines, closing lines, statement
arithmetic, periods, the account tree and the payroll posting recipes."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from erp.payroll.v1 import events_pb2 as payroll_ev
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal

from services.accounting import chart, domain, handlers, statements
from services.accounting.domain import AccountTotals, Draft, DraftLine
from services.runtime.errors import FailedPrecondition, InvalidArgument, Validator

D = Decimal


def violations(lines: list[DraftLine]) -> dict[str, str]:
    v = Validator()
    domain.validate_lines(v, lines)
    return {x.field: x.description for x in v.violations}


def test_balanced_entry_passes() -> None:
    lines = [
        DraftLine("1010", debit=D("100.00")),
        DraftLine("4100", credit=D("60.00")),
        DraftLine("2300", credit=D("40")),
    ]
    assert violations(lines) == {}
    assert domain.totals(lines) == (D("100.00"), D("100.00"))


def test_unbalanced_entry_names_the_difference() -> None:
    found = violations([DraftLine("1010", debit=D("100.00")), DraftLine("4100", credit=D("90.50"))])
    assert list(found) == ["lines"]
    assert "differ by 9.50" in found["lines"]
    assert "100.00" in found["lines"] and "90.50" in found["lines"]


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (DraftLine("1010", debit=D("10"), credit=D("10")), "lines[0]"),
        (DraftLine("1010"), "lines[0]"),
        (DraftLine("1010", debit=D("-10")), "lines[0].debit_amount"),
        (DraftLine("1010", debit=D("10.001")), "lines[0].debit_amount"),
        (DraftLine("1010", debit=D("10000000000000.00")), "lines[0].debit_amount"),
        (DraftLine("", debit=D("10")), "lines[0].account_code"),
    ],
)
def test_bad_lines_are_named(line: DraftLine, field: str) -> None:
    found = violations([line, DraftLine("4100", credit=D("10"))])
    assert field in found
    assert "lines" not in found  # no balance verdict on lines that are themselves wrong


def test_at_least_two_lines() -> None:
    assert "lines" in violations([DraftLine("1010", debit=D("1"))])
    assert "lines" in violations([])


def test_check_draft_raises_every_violation() -> None:
    draft = Draft(
        date(2024, 1, 1), (DraftLine("1010", debit=D("1")), DraftLine("4100", credit=D("2"))), reference="x" * 101
    )
    with pytest.raises(InvalidArgument) as info:
        domain.check_draft(draft)
    assert {v.field for v in info.value.violations} == {"lines", "reference"}


def test_normal_balance_side() -> None:
    assert domain.normal_balance("asset", D("10"), D("3")) == D("7")
    assert domain.normal_balance("expense", D("10"), D("3")) == D("7")
    for t in ("liability", "equity", "revenue"):
        assert domain.normal_balance(t, D("10"), D("3")) == D("-7")


def test_reversal_swaps_every_line() -> None:
    original = Draft(
        date(2024, 3, 5),
        (DraftLine("5200", debit=D("100"), description="a"), DraftLine("2100", credit=D("100"), description="b")),
        reference="R1",
        department="Ops",
        source_service="payroll",
        posting_key="payroll.expense:1",
    )
    entry_id = uuid.uuid4()
    rev = domain.reversal_draft(original, entry_id, date(2024, 3, 9), "typo", "JE-2024-000001")
    assert rev.lines == (
        DraftLine("5200", credit=D("100"), description="a"),
        DraftLine("2100", debit=D("100"), description="b"),
    )
    assert rev.entry_date == date(2024, 3, 9)
    assert rev.reversal_of_id == entry_id
    assert rev.posting_key is None
    assert (rev.reference, rev.department, rev.source_service) == ("R1", "Ops", "payroll")
    assert rev.description == "Reversal of JE-2024-000001: typo"


def test_only_a_posted_entry_can_be_reversed() -> None:
    domain.ensure_can_reverse("posted", "JE-1")
    with pytest.raises(FailedPrecondition, match="already reversed"):
        domain.ensure_can_reverse("reversed", "JE-1")
    with pytest.raises(FailedPrecondition):
        domain.ensure_can_reverse("draft", "JE-1")
    with pytest.raises(FailedPrecondition, match="closing"):
        domain.ensure_can_reverse("posted", "JE-1", is_closing=True)


def totals(code: str, t: str, debit: str, credit: str) -> AccountTotals:
    return AccountTotals(code, f"name {code}", t, D(debit), D(credit))


def test_closing_lines_move_profit_to_retained_earnings() -> None:
    amounts = [
        totals("4100", "revenue", "10.00", "1010.00"),  # 1000 revenue
        totals("5200", "expense", "700.00", "0"),
        totals("5300", "expense", "0", "50.00"),  # a credit-balance expense
        totals("1010", "asset", "999", "0"),  # not P&L: ignored
        totals("5100", "expense", "5", "5"),  # zero: no line
    ]
    lines, net = domain.closing_lines(amounts, "3100")
    assert net == D("350.00")
    assert lines == (
        DraftLine("4100", debit=D("1000.00"), description="Year-end close"),
        DraftLine("5200", credit=D("700.00"), description="Year-end close"),
        DraftLine("5300", debit=D("50.00"), description="Year-end close"),
        DraftLine("3100", credit=D("350.00"), description="Net income of the year"),
    )
    assert violations(list(lines)) == {}


def test_closing_lines_for_a_loss_and_for_nothing() -> None:
    lines, net = domain.closing_lines([totals("5200", "expense", "80", "0")], "3100")
    assert net == D("-80")
    assert lines[-1] == DraftLine("3100", debit=D("80"), description="Net loss of the year")
    assert domain.closing_lines([totals("1010", "asset", "5", "0")], "3100") == ((), D("0"))


def test_trial_balance_sides_and_totals() -> None:
    tb = statements.trial_balance(
        [
            totals("1010", "asset", "500", "200"),
            totals("2100", "liability", "0", "300"),
            totals("4100", "revenue", "1", "1"),
        ]
    )
    assert [(x.account_code, x.debit_balance, x.credit_balance) for x in tb.lines] == [
        ("1010", D("300"), D("0")),
        ("2100", D("0"), D("300")),
    ]
    assert tb.balanced and tb.total_debit == D("300")
    assert not statements.trial_balance([totals("1010", "asset", "1", "0")]).balanced


def test_income_statement_arithmetic() -> None:
    result = statements.income_statement(
        [
            totals("4100", "revenue", "0", "1000.00"),
            totals("5200", "expense", "600.00", "0"),
            totals("1010", "asset", "9", "0"),
        ]
    )
    assert [x.amount for x in result.revenue] == [D("1000.00")]
    assert [x.amount for x in result.expenses] == [D("600.00")]
    assert (result.total_revenue, result.total_expenses, result.net_income) == (D("1000.00"), D("600.00"), D("400.00"))


def test_balance_sheet_counts_unclosed_earnings_in_equity() -> None:
    # Owner puts in 1000 cash; sells for 500 on credit; pays 200 salary; owes 50 tax.
    rows = [
        totals("1010", "asset", "1000", "200"),
        totals("1200", "asset", "500", "0"),
        totals("2300", "liability", "0", "50"),
        totals("3000", "equity", "0", "1000"),
        totals("4100", "revenue", "0", "500"),
        totals("5200", "expense", "200", "0"),
        totals("5300", "expense", "50", "0"),
    ]
    sheet = statements.balance_sheet(rows)
    assert sheet.total_assets == D("1300")
    assert sheet.total_liabilities == D("50")
    assert sheet.current_earnings == D("250")
    assert sheet.total_equity == D("1250")
    assert sheet.balanced


def test_month_period_and_journal_number() -> None:
    assert domain.month_period(date(2024, 2, 10)) == domain.PeriodSpan(2024, 2, date(2024, 2, 1), date(2024, 2, 29))
    assert domain.month_period(date(2023, 12, 31)).end_date == date(2023, 12, 31)
    assert [p.period_number for p in domain.year_months(2024)] == list(range(1, 13))
    assert domain.journal_number(2024, 7) == "JE-2024-000007"
    with pytest.raises(FailedPrecondition, match="2024-03 is closed"):
        domain.ensure_period_open("closed", 2024, 3)


def test_account_tree_rules() -> None:
    domain.check_parent("1011", "asset", "1010", "asset", ["1000"], "parent_account_code")
    with pytest.raises(InvalidArgument, match="cycle"):
        domain.check_parent("1000", "asset", "1010", "asset", ["1000"], "parent_account_code")
    with pytest.raises(InvalidArgument, match="own parent"):
        domain.check_parent("1000", "asset", "1000", "asset", [], "parent_account_code")
    with pytest.raises(InvalidArgument, match="liability"):
        domain.check_parent("1011", "asset", "2000", "liability", [], "parent_account_code")
    with pytest.raises(FailedPrecondition, match="2050"):
        domain.ensure_postable("2050", "GRNI", False)


def test_standard_chart_is_a_consistent_tree() -> None:
    by_code = {a.code: a for a in chart.STANDARD_CHART}
    assert len(by_code) == len(chart.STANDARD_CHART) == 18
    for a in chart.STANDARD_CHART:
        if a.parent_code is not None:
            assert by_code[a.parent_code].account_type == a.account_type


def _money(value: str) -> PbDecimal:
    return PbDecimal(value=value)


def payroll_processed(**overrides: object) -> payroll_ev.PayrollProcessed:
    values: dict[str, object] = {
        "payroll_record_id": str(uuid.uuid4()),
        "employee_name": "Ada Lovelace",
        "department": "Engineering",
        "pay_period_start": Date(year=2024, month=3, day=1),
        "pay_period_end": Date(year=2024, month=3, day=31),
        "gross_pay": _money("5000.00"),
        "federal_tax": _money("600.00"),
        "state_tax": _money("250.00"),
        "social_security_tax": _money("310.00"),
        "medicare_tax": _money("72.50"),
        "deductions": _money("100.00"),
        "net_pay": _money("3667.50"),
    }
    values.update(overrides)
    return payroll_ev.PayrollProcessed(**values)  # type: ignore[arg-type]


def test_payroll_expense_recipe() -> None:
    msg = payroll_processed()
    request = handlers.payroll_expense(msg)
    draft = request.draft()
    assert request.reference == draft.posting_key == f"payroll.expense:{msg.payroll_record_id}"
    assert [(x.account_code, x.debit, x.credit) for x in draft.lines] == [
        (chart.SALARY_EXPENSE, D("5000.00"), D("0")),
        (chart.PAYROLL_TAX_WITHHOLDINGS, D("0"), D("1332.50")),
        (chart.SALARY_PAYABLE, D("0"), D("3667.50")),
    ]
    assert draft.entry_date == date(2024, 3, 31)
    assert (draft.source_service, str(draft.source_id), draft.department) == (
        "payroll",
        msg.payroll_record_id,
        "Engineering",
    )
    domain.check_draft(draft)


def test_payroll_expense_recipe_rejects_what_does_not_balance() -> None:
    with pytest.raises(InvalidArgument, match=r"differ by 0\.01"):
        domain.check_draft(handlers.payroll_expense(payroll_processed(net_pay=_money("3667.49"))).draft())
    with pytest.raises(InvalidArgument):
        handlers.payroll_expense(payroll_processed(gross_pay=_money("abc"))).draft()
    no_tax = payroll_processed(
        federal_tax=_money(""),
        state_tax=_money("0"),
        social_security_tax=_money("0"),
        medicare_tax=_money("0"),
        deductions=_money("0"),
        net_pay=_money("5000.00"),
    )
    assert len(handlers.payroll_expense(no_tax).draft().lines) == 2  # no zero line


def test_payroll_payment_recipe() -> None:
    msg = payroll_ev.PayrollPaid(
        payroll_record_id=str(uuid.uuid4()), net_pay=_money("3667.50"), pay_date=Date(year=2024, month=4, day=2)
    )
    draft = handlers.payroll_payment(msg).draft()
    assert [(x.account_code, x.debit, x.credit) for x in draft.lines] == [
        (chart.SALARY_PAYABLE, D("3667.50"), D("0")),
        (chart.CASH, D("0"), D("3667.50")),
    ]
    assert draft.posting_key == f"payroll.payment:{msg.payroll_record_id}"
    assert draft.entry_date == date(2024, 4, 2)
