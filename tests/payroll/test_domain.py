"""Gross-to-net and the status rules, on worked examples, without a database."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from services.payroll import domain
from services.payroll.domain import Paycheck, RecordStatus, RunStatus, TaxRates
from services.runtime.errors import FailedPrecondition, InvalidArgument, Unauthenticated, Validator

RATES = TaxRates(
    federal=Decimal("0.1000"), state=Decimal("0.0500"), social_security=Decimal("0.0620"), medicare=Decimal("0.0145")
)
MARCH = (date(2024, 3, 1), date(2024, 3, 31))
LONG_AGO = date(2000, 1, 1)


def pay(salary: str, start: date, end: date, hire: date = LONG_AGO, term: date | None = None) -> Paycheck:
    result = domain.calculate_pay(Decimal(salary), start, end, hire, term, RATES)
    assert result is not None
    return result


def assert_adds_up(p: Paycheck) -> None:
    for amount in (p.gross, p.federal_tax, p.state_tax, p.social_security_tax, p.medicare_tax, p.deductions, p.net):
        assert amount == amount.quantize(Decimal("0.01")), amount
    assert p.net == p.gross - p.federal_tax - p.state_tax - p.social_security_tax - p.medicare_tax - p.deductions


def test_a_full_month_is_a_twelfth_of_the_annual_salary() -> None:
    p = pay("60000.00", *MARCH)
    assert p == Paycheck(
        gross=Decimal("5000.00"),
        federal_tax=Decimal("500.00"),
        state_tax=Decimal("250.00"),
        social_security_tax=Decimal("310.00"),
        medicare_tax=Decimal("72.50"),
        deductions=Decimal("0.00"),
        net=Decimal("3867.50"),
    )
    # February (29 days in 2024) earns the same twelfth.
    assert pay("60000.00", date(2024, 2, 1), date(2024, 2, 29)).gross == Decimal("5000.00")


def test_any_other_period_earns_days_over_365() -> None:
    # 73000 x 15 / 365 = 3000; a period across two months is not a calendar month.
    assert pay("73000.00", date(2024, 3, 1), date(2024, 3, 15)).gross == Decimal("3000.00")
    assert pay("36500.00", date(2024, 3, 16), date(2024, 4, 15)).gross == Decimal("3100.00")


def test_rounding_is_half_up_where_it_matters() -> None:
    # 60000.06 / 12 = 5000.005 exactly: half-up gives 5000.01 (half-even would give 5000.00).
    assert pay("60000.06", *MARCH).gross == Decimal("5000.01")
    # 14814.00 / 12 = 1234.50; state 5% = 61.725 -> 61.73 (half-even: 61.72);
    # social security 6.2% = 76.539 -> 76.54; medicare 1.45% = 17.90025 -> 17.90.
    p = pay("14814.00", *MARCH)
    assert (p.gross, p.federal_tax, p.state_tax, p.social_security_tax, p.medicare_tax) == (
        Decimal("1234.50"),
        Decimal("123.45"),
        Decimal("61.73"),
        Decimal("76.54"),
        Decimal("17.90"),
    )
    assert p.net == Decimal("954.88")
    assert_adds_up(p)


def test_a_mid_period_hire_is_prorated_by_days_employed() -> None:
    # Hired 16 March: 16 of 31 days; 5000 x 16 / 31 = 2580.645... -> 2580.65.
    p = pay("60000.00", *MARCH, hire=date(2024, 3, 16))
    assert p.gross == Decimal("2580.65")
    assert_adds_up(p)


def test_a_mid_period_termination_is_paid_up_to_the_termination_date() -> None:
    # Terminated 10 March (a day worked): 10 of 31 days; 5000 x 10 / 31 = 1612.903... -> 1612.90.
    p = pay("60000.00", *MARCH, term=date(2024, 3, 10))
    assert p.gross == Decimal("1612.90")
    both = pay("60000.00", *MARCH, hire=date(2024, 3, 5), term=date(2024, 3, 20))
    assert both.gross == Decimal("2580.65")  # 16 days
    assert_adds_up(both)


def test_nobody_is_paid_outside_their_employment() -> None:
    assert domain.calculate_pay(Decimal("60000"), *MARCH, LONG_AGO, date(2024, 2, 29), RATES) is None
    assert domain.calculate_pay(Decimal("60000"), *MARCH, date(2024, 4, 1), None, RATES) is None
    # A termination after the period does not reduce it.
    assert pay("60000.00", *MARCH, term=date(2024, 6, 30)).gross == Decimal("5000.00")


@pytest.mark.parametrize("salary", ["31234.57", "99999.99", "45000.01", "120000.00", "1.00"])
@pytest.mark.parametrize(
    "period", [MARCH, (date(2024, 3, 1), date(2024, 3, 14)), (date(2023, 12, 20), date(2024, 1, 19))]
)
def test_components_always_sum_exactly(salary: str, period: tuple[date, date]) -> None:
    assert_adds_up(pay(salary, *period))
    assert_adds_up(pay(salary, *period, hire=period[0].replace(day=3)))


def test_deductions_reduce_net_and_may_not_exceed_it() -> None:
    p = Paycheck.calculate(Decimal("1000.00"), RATES, Decimal("100.00"))
    assert p.net == Decimal("1000.00") - p.taxes - Decimal("100.00")
    assert_adds_up(p)
    with pytest.raises(InvalidArgument) as info:
        domain.net_pay(Decimal("1000.00"), Decimal("226.50"), Decimal("773.51"))
    assert info.value.violations[0].field == "payroll_record.deductions"


def test_status_transitions_never_go_backwards() -> None:
    assert domain.can_move("processing", RecordStatus.PROCESSED)
    assert domain.can_move("failed", RecordStatus.PROCESSING)
    assert not domain.can_move("processed", RecordStatus.PROCESSING)
    assert not domain.can_move("paid", RecordStatus.PROCESSED)
    assert not domain.can_move("processed", RecordStatus.FAILED)
    assert set(domain.sources_of(RecordStatus.FAILED)) == {"processing"}
    assert set(domain.sources_of(RecordStatus.PAID)) == {"processed"}


def test_run_status_is_derived_from_its_records() -> None:
    c = {s: 0 for s in domain.COUNTED_STATUSES}
    assert domain.run_status(False, {**c, RecordStatus.PENDING: 3}) == RunStatus.PENDING
    assert domain.run_status(True, {**c, RecordStatus.PROCESSING: 1, RecordStatus.FAILED: 1}) == RunStatus.PROCESSING
    assert domain.run_status(True, {**c, RecordStatus.PROCESSED: 1, RecordStatus.FAILED: 1}) == RunStatus.FAILED
    assert domain.run_status(True, {**c, RecordStatus.PROCESSED: 1, RecordStatus.PAID: 1}) == RunStatus.PROCESSED
    assert domain.run_status(True, {**c, RecordStatus.PAID: 2}) == RunStatus.PAID
    assert domain.run_status(True, c) == RunStatus.APPROVED


def test_approval_needs_another_known_user() -> None:
    creator, other = uuid.uuid4(), uuid.uuid4()
    assert domain.ensure_can_approve("pending", creator, other) == other
    assert domain.ensure_can_approve("pending", None, other) == other
    with pytest.raises(FailedPrecondition):
        domain.ensure_can_approve("pending", creator, creator)
    with pytest.raises(FailedPrecondition):
        domain.ensure_can_approve("processing", creator, other)
    with pytest.raises(Unauthenticated):
        domain.ensure_can_approve("pending", creator, None)


def test_tax_rate_rules() -> None:
    v = Validator()
    domain.validate_rate(v, Decimal("1.5"), "federal_rate")
    domain.validate_rate(v, Decimal("0.12345"), "state_rate")
    domain.validate_rate(v, Decimal("0.0620"), "social_security_rate")
    domain.validate_rate_sum(v, [Decimal("0.6"), Decimal("0.5")])
    assert [x.field for x in v.violations] == ["federal_rate", "state_rate", "federal_rate"]
    assert domain.ranges_overlap(date(2024, 1, 1), None, date(2030, 1, 1), date(2030, 12, 31))
    assert domain.ranges_overlap(date(2024, 1, 1), date(2024, 12, 31), date(2024, 12, 31), None)
    assert not domain.ranges_overlap(date(2024, 1, 1), date(2024, 12, 31), date(2025, 1, 1), None)
