"""Ledger rules as plain Python: balanced entries, reversal, year-end closing lines, fiscal
periods, the account tree. No I/O.

Balance convention (general_ledger.running_balance, AccountBalance.balance, statements):
every balance is on the account's NORMAL side: debits minus credits for assets and expenses,
credits minus debits for liabilities, equity and revenue. A positive balance is the usual one.
"""

from __future__ import annotations

import calendar
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from services.runtime.errors import FailedPrecondition, Validator

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("9999999999999.99")  # NUMERIC(15, 2)
MAX_LINES = 1000
MANUAL = "manual"
ACCOUNTING = "accounting"


class AccountType(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    REVENUE = "revenue"
    EXPENSE = "expense"


DEBIT_NORMAL = frozenset({AccountType.ASSET, AccountType.EXPENSE})
PROFIT_AND_LOSS = frozenset({AccountType.REVENUE, AccountType.EXPENSE})


class EntryStatus(StrEnum):
    DRAFT = "draft"
    POSTED = "posted"
    REVERSED = "reversed"


class PeriodStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


def normal_balance(account_type: str, debit: Decimal, credit: Decimal) -> Decimal:
    """Debits and credits as a balance on the account's normal side."""
    return debit - credit if account_type in DEBIT_NORMAL else credit - debit


# ---- journal entries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftLine:
    account_code: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    description: str | None = None


@dataclass(frozen=True)
class Draft:
    """An entry to post. `posting_key` makes a posting requested by another service idempotent."""

    entry_date: date
    lines: tuple[DraftLine, ...]
    description: str | None = None
    reference: str | None = None
    department: str | None = None
    source_service: str = MANUAL
    source_id: uuid.UUID | None = None
    posting_key: str | None = None
    posted_by: uuid.UUID | None = None
    reversal_of_id: uuid.UUID | None = None
    is_closing: bool = False
    allow_inactive_accounts: bool = False


def totals(lines: Iterable[DraftLine]) -> tuple[Decimal, Decimal]:
    debit = credit = ZERO
    for line in lines:
        debit += line.debit
        credit += line.credit
    return debit, credit


def validate_lines(v: Validator, lines: Sequence[DraftLine], field: str = "lines") -> None:
    """Every line one-sided, positive, in cents; at least two lines; debits equal credits."""
    if len(lines) < 2:
        v.check(False, field, "at least two lines are required")
    v.check(len(lines) <= MAX_LINES, field, f"at most {MAX_LINES} lines per entry")
    amounts_ok = True
    for i, line in enumerate(lines):
        at = f"{field}[{i}]"
        v.require(line.account_code, f"{at}.account_code")
        v.max_len(line.account_code, f"{at}.account_code", 20)
        v.max_len(line.description, f"{at}.description", 2000)
        for name, amount in (("debit_amount", line.debit), ("credit_amount", line.credit)):
            ok = amount >= 0 and amount <= MAX_AMOUNT and amount == amount.quantize(CENT)
            v.check(amount >= 0, f"{at}.{name}", "must not be negative")
            v.check(amount <= MAX_AMOUNT, f"{at}.{name}", f"must be at most {MAX_AMOUNT}")
            v.check(amount == amount.quantize(CENT), f"{at}.{name}", "must have at most two decimal places")
            amounts_ok = amounts_ok and ok
        one_sided = (line.debit > 0) != (line.credit > 0)
        v.check(one_sided, at, "exactly one of debit_amount and credit_amount must be positive")
        amounts_ok = amounts_ok and one_sided
    if amounts_ok and len(lines) >= 2:
        debit, credit = totals(lines)
        v.check(
            debit == credit,
            field,
            f"the entry is unbalanced: debits {debit} and credits {credit} differ by {abs(debit - credit)}",
        )


def validate_entry_fields(
    v: Validator, lines: Sequence[DraftLine], description: str | None, reference: str | None, department: str | None
) -> None:
    validate_lines(v, lines)
    v.max_len(description, "description", 2000)
    v.max_len(reference, "reference", 100)
    v.max_len(department, "department", 100)


def check_draft(draft: Draft) -> None:
    """Raise InvalidArgument unless the draft is a postable balanced entry."""
    v = Validator()
    validate_entry_fields(v, draft.lines, draft.description, draft.reference, draft.department)
    v.raise_if_any()


def reversal_draft(original: Draft, reversal_of_id: uuid.UUID, on: date, reason: str, journal_number: str) -> Draft:
    """The mirror entry: every line with debit and credit swapped, pointing at the original."""
    return replace(
        original,
        entry_date=on,
        lines=tuple(
            DraftLine(line.account_code, debit=line.credit, credit=line.debit, description=line.description)
            for line in original.lines
        ),
        description=f"Reversal of {journal_number}: {reason}",
        posting_key=None,
        reversal_of_id=reversal_of_id,
        is_closing=False,
        allow_inactive_accounts=False,
    )


def ensure_can_reverse(status: str, journal_number: str, *, is_closing: bool = False) -> None:
    if is_closing:
        raise FailedPrecondition(f"journal entry {journal_number} is a year-end closing entry and cannot be reversed")
    if status == EntryStatus.REVERSED:
        raise FailedPrecondition(f"journal entry {journal_number} is already reversed")
    if status != EntryStatus.POSTED:
        raise FailedPrecondition(f"journal entry {journal_number} is {status}; only a posted entry can be reversed")


@dataclass(frozen=True)
class AccountTotals:
    """Debit and credit totals of one account (over a period or up to a date)."""

    account_code: str
    account_name: str
    account_type: str
    debit: Decimal
    credit: Decimal

    @property
    def balance(self) -> Decimal:
        return normal_balance(self.account_type, self.debit, self.credit)


def closing_lines(
    amounts: Iterable[AccountTotals], retained_earnings_code: str
) -> tuple[tuple[DraftLine, ...], Decimal]:
    """Lines that bring every revenue and expense account to zero against retained earnings,
    and the net income they move (negative for a loss). No lines when there is nothing to move."""
    lines: list[DraftLine] = []
    net_income = ZERO
    for a in sorted(amounts, key=lambda a: a.account_code):
        if a.account_type not in PROFIT_AND_LOSS:
            continue
        raw = a.debit - a.credit  # what is left on the debit side
        if raw == 0:
            continue
        net_income -= raw  # revenue sits on the credit side (raw < 0), expenses on the debit side
        if raw > 0:
            lines.append(DraftLine(a.account_code, credit=raw, description="Year-end close"))
        else:
            lines.append(DraftLine(a.account_code, debit=-raw, description="Year-end close"))
    if not lines:
        return (), ZERO
    if net_income > 0:
        lines.append(DraftLine(retained_earnings_code, credit=net_income, description="Net income of the year"))
    elif net_income < 0:
        lines.append(DraftLine(retained_earnings_code, debit=-net_income, description="Net loss of the year"))
    return tuple(lines), net_income


def journal_number(year: int, number: int) -> str:
    return f"JE-{year}-{number:06d}"


# ---- fiscal periods ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodSpan:
    fiscal_year: int
    period_number: int
    start_date: date
    end_date: date


def month_period(day: date) -> PeriodSpan:
    """The calendar month containing `day`: the period created on demand for a posting."""
    last = calendar.monthrange(day.year, day.month)[1]
    return PeriodSpan(day.year, day.month, date(day.year, day.month, 1), date(day.year, day.month, last))


def year_months(year: int) -> list[PeriodSpan]:
    return [month_period(date(year, month, 1)) for month in range(1, 13)]


def period_label(fiscal_year: int, period_number: int) -> str:
    return f"{fiscal_year}-{period_number:02d}"


def ensure_period_open(status: str, fiscal_year: int, period_number: int) -> None:
    if status != PeriodStatus.OPEN:
        raise FailedPrecondition(f"fiscal period {period_label(fiscal_year, period_number)} is closed")


def validate_period(v: Validator, fiscal_year: int, period_number: int, start: date | None, end: date | None) -> None:
    v.check(1 <= fiscal_year <= 9999, "fiscal_year", "must be between 1 and 9999")
    v.check(1 <= period_number <= 12, "period_number", "must be between 1 and 12")
    if start is not None and end is not None:
        v.check(end >= start, "end_date", "must be on or after start_date")


# ---- chart of accounts -------------------------------------------------------------------------


def validate_account_fields(v: Validator, values: dict[str, object], prefix: str = "") -> None:
    """Checks every field present in `values`; `prefix` makes names relative to the request."""
    if "account_code" in values:
        code = str(values["account_code"] or "")
        v.require(code, f"{prefix}account_code")
        v.max_len(code, f"{prefix}account_code", 20)
        v.check(code == code.strip() and " " not in code, f"{prefix}account_code", "must not contain spaces")
    if "account_name" in values:
        name = str(values["account_name"] or "")
        v.require(name.strip(), f"{prefix}account_name")
        v.max_len(name, f"{prefix}account_name", 200)
    if "parent_account_code" in values:
        v.max_len(values["parent_account_code"] or None, f"{prefix}parent_account_code", 20)  # type: ignore[arg-type]


def check_parent(
    code: str, account_type: str, parent_code: str, parent_type: str, parent_ancestors: Sequence[str], field: str
) -> None:
    """A parent has the same type as its child and is not the child or one of its descendants."""
    v = Validator()
    v.check(parent_code != code, field, "an account cannot be its own parent")
    v.check(code not in parent_ancestors, field, f"would make a cycle: {parent_code} is below {code}")
    v.check(parent_type == account_type, field, f"the parent is a {parent_type} account, not a {account_type} account")
    v.raise_if_any()


def ensure_postable(code: str, name: str, is_active: bool) -> None:
    if not is_active:
        raise FailedPrecondition(f"account {code} ({name}) is inactive and refuses postings")
