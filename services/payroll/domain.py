"""Payroll rules as plain Python with no I/O: gross-to-net, proration, status lifecycles.

Gross pay for a pay period:
- a full calendar month (the 1st to the month's last day) earns annual_salary / 12;
- any other period earns annual_salary x days_in_period / 365 (a daily rate on a 365-day year,
  whatever the year's length);
- an employee hired or terminated inside the period earns that amount x days employed /
  days in period (the hire date and the termination date are days worked).
Gross is rounded once, half-up to cents; each tax is gross x rate rounded half-up to cents;
net = gross - the four (rounded) taxes - deductions, so the parts always add up exactly.
"""

from __future__ import annotations

import uuid
from calendar import monthrange
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from services.runtime.errors import FailedPrecondition, InvalidArgument, Unauthenticated, Validator

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MONTHS_PER_YEAR = Decimal(12)
DAYS_PER_YEAR = Decimal(365)
MAX_PERIOD_DAYS = 366
MAX_MONEY = Decimal("99999999.99")  # NUMERIC(10, 2)
RATE_PLACES = Decimal("0.0001")  # NUMERIC(5, 4)


class RecordStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    PROCESSING = "processing"
    PROCESSED = "processed"
    PAID = "paid"
    FAILED = "failed"


class RunStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    PROCESSING = "processing"
    PROCESSED = "processed"
    PAID = "paid"
    FAILED = "failed"


RECORD_STATUSES = tuple(s.value for s in RecordStatus)
RUN_STATUSES = tuple(s.value for s in RunStatus)

# The record lifecycle never goes backwards: pending -> (approved ->) processing -> processed -> paid,
# processing -> failed -> processing (retry), and a late posting may still settle a failed record.
TRANSITIONS: dict[RecordStatus, frozenset[RecordStatus]] = {
    RecordStatus.PENDING: frozenset({RecordStatus.APPROVED, RecordStatus.PROCESSING}),
    RecordStatus.APPROVED: frozenset({RecordStatus.PROCESSING}),
    RecordStatus.PROCESSING: frozenset({RecordStatus.PROCESSED, RecordStatus.FAILED}),
    RecordStatus.FAILED: frozenset({RecordStatus.PROCESSING, RecordStatus.PROCESSED}),
    RecordStatus.PROCESSED: frozenset({RecordStatus.PAID}),
    RecordStatus.PAID: frozenset(),
}

# Statuses that count toward a run's per-status counters (approved is never stored).
COUNTED_STATUSES = (
    RecordStatus.PENDING,
    RecordStatus.PROCESSING,
    RecordStatus.PROCESSED,
    RecordStatus.PAID,
    RecordStatus.FAILED,
)


def can_move(current: str, target: RecordStatus) -> bool:
    return target in TRANSITIONS[RecordStatus(current)]


def sources_of(target: RecordStatus) -> tuple[str, ...]:
    """Every status a record may move to `target` from (for set-based guarded updates)."""
    return tuple(s.value for s, targets in TRANSITIONS.items() if target in targets)


def run_status(approved: bool, counts: dict[RecordStatus, int]) -> RunStatus:
    """A run's status, derived from whether it was approved and its records' statuses."""
    total = sum(counts.values())
    if not approved:
        return RunStatus.PENDING
    if counts.get(RecordStatus.PROCESSING, 0):
        return RunStatus.PROCESSING
    if counts.get(RecordStatus.FAILED, 0):
        return RunStatus.FAILED
    if total and counts.get(RecordStatus.PAID, 0) == total:
        return RunStatus.PAID
    if total and counts.get(RecordStatus.PAID, 0) + counts.get(RecordStatus.PROCESSED, 0) == total:
        return RunStatus.PROCESSED
    return RunStatus.APPROVED


def ensure_can_approve(status: str, created_by: uuid.UUID | None, approver: uuid.UUID | None) -> uuid.UUID:
    if approver is None:
        raise Unauthenticated("approving a payroll run needs the caller's identity (x-erp-user-id)")
    if status != RunStatus.PENDING:
        raise FailedPrecondition(f"only a pending payroll run can be approved (status is {status})")
    if created_by is not None and created_by == approver:
        raise FailedPrecondition("the user who started a payroll run may not approve it")
    return approver


# ---- money and periods ----------------------------------------------------------------------


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def days_between(first: date, last: date) -> int:
    """Days from `first` to `last`, both included."""
    return (last - first).days + 1


def is_calendar_month(start: date, end: date) -> bool:
    return (
        start.day == 1
        and end.year == start.year
        and end.month == start.month
        and end.day == monthrange(start.year, start.month)[1]
    )


def validate_period(v: Validator, start: date | None, end: date | None, prefix: str = "pay_period") -> None:
    if start is None or end is None:
        return
    v.check(end >= start, f"{prefix}_end", f"must be on or after {prefix}_start")
    v.check(days_between(start, end) <= MAX_PERIOD_DAYS, f"{prefix}_end", f"a period is at most {MAX_PERIOD_DAYS} days")


def employed_days(start: date, end: date, hire_date: date, termination_date: date | None) -> int:
    """Days of the period the employee was employed (0 when hired after or left before it)."""
    first = max(start, hire_date)
    last = min(end, termination_date) if termination_date is not None else end
    return max(days_between(first, last), 0)


def gross_pay(
    annual_salary: Decimal, start: date, end: date, hire_date: date, termination_date: date | None
) -> Decimal:
    """Gross pay for the period, prorated for a hire or termination inside it (see module doc)."""
    period_days = days_between(start, end)
    if is_calendar_month(start, end):
        full = annual_salary / MONTHS_PER_YEAR
    else:
        full = annual_salary * period_days / DAYS_PER_YEAR
    worked = employed_days(start, end, hire_date, termination_date)
    if worked >= period_days:
        return cents(full)
    return cents(full * worked / period_days)


@dataclass(frozen=True)
class TaxRates:
    federal: Decimal
    state: Decimal
    social_security: Decimal
    medicare: Decimal


@dataclass(frozen=True)
class Paycheck:
    """One period's pay: gross, the four taxes, deductions and net, all in cents, adding up."""

    gross: Decimal
    federal_tax: Decimal
    state_tax: Decimal
    social_security_tax: Decimal
    medicare_tax: Decimal
    deductions: Decimal
    net: Decimal

    @property
    def taxes(self) -> Decimal:
        return self.federal_tax + self.state_tax + self.social_security_tax + self.medicare_tax

    @classmethod
    def calculate(cls, gross: Decimal, rates: TaxRates, deductions: Decimal = ZERO) -> Paycheck:
        gross = cents(gross)
        taxes = [cents(gross * r) for r in (rates.federal, rates.state, rates.social_security, rates.medicare)]
        federal, state, social_security, medicare = taxes
        net = net_pay(gross, federal + state + social_security + medicare, deductions)
        return cls(gross, federal, state, social_security, medicare, deductions, net)


def net_pay(gross: Decimal, taxes: Decimal, deductions: Decimal) -> Decimal:
    """Net pay; deductions may not exceed what is left after taxes."""
    if deductions < 0:
        raise InvalidArgument.field("payroll_record.deductions", "must not be negative")
    net = gross - taxes - deductions
    if net < 0:
        raise InvalidArgument.field("payroll_record.deductions", f"must be at most {gross - taxes} (gross less taxes)")
    return net


def calculate_pay(
    annual_salary: Decimal, start: date, end: date, hire_date: date, termination_date: date | None, rates: TaxRates
) -> Paycheck | None:
    """The paycheck of one employee for a period, or None when not employed in it at all."""
    if employed_days(start, end, hire_date, termination_date) == 0:
        return None
    return Paycheck.calculate(gross_pay(annual_salary, start, end, hire_date, termination_date), rates)


def employee_name(first_name: str, last_name: str) -> str:
    return f"{first_name} {last_name}".strip()[:200]


# ---- tax rates --------------------------------------------------------------------------------


def validate_rate(v: Validator, value: Decimal | None, field: str) -> None:
    if value is None:
        return
    v.check(Decimal(0) <= value <= Decimal(1), field, "must be a fraction between 0 and 1")
    v.check(value == value.quantize(RATE_PLACES), field, "must have at most four decimal places")


def validate_rate_sum(v: Validator, rates: list[Decimal | None]) -> None:
    known = [r for r in rates if r is not None]
    v.check(sum(known, Decimal(0)) <= 1, "federal_rate", "the four rates together must not exceed 1")


def ranges_overlap(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    """Whether two inclusive date ranges (None = open-ended) share a day."""
    return (b_to is None or a_from <= b_to) and (a_to is None or b_from <= a_to)


def describe_range(start: date, end: date | None) -> str:
    return f"{start.isoformat()}..{end.isoformat() if end else 'open'}"
