"""Finance rules as plain Python: budget arithmetic and statuses, which spending a journal entry
carries and which budget it is charged to. No I/O.

Spend categories (the one table, `EXPENSE_CATEGORIES`): an expense line (account type expense)
is spending of the category of its account code:

    5100 Cost of Goods Sold  -> "Cost of Sales"
    5200 Salary Expense      -> "Salaries"
    5300 Stock Adjustment    -> "Inventory Losses"
    any other expense code   -> "Operating"

and a procurement posting's inventory line (source_service "procurement", account 1300) is
spending of category "Purchasing": goods bought for the requesting department. The amount is
debit minus credit, so a credit (a reversal, a return) is negative spending. Year-end closing
entries (is_closing; source_service "accounting" in events recorded before that flag) move
balances into retained earnings: they are no spending.

Attribution: the entry's department, the line's category and the entry date choose the budget:
among the department's OPEN (active or exceeded) budgets of that category whose period contains
the date, a quarterly one first, else the annual one (ties: the latest start, then the shortest
period). None (or no department) makes the line unattributed spend, kept and listed, never lost.
A reversal follows the charge it reverses: to the same budget (unless that budget is closed since)
or back to unattributed spend; a reversal finance never saw the original of is attributed afresh.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from services.runtime.errors import FailedPrecondition, Validator

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
MAX_AMOUNT = Decimal("9999999999999.99")  # NUMERIC(15, 2)
# budgets.utilization_percentage is NUMERIC(5, 2): the stored figure is capped at +-999.99 %
# (GetBudgetVsActual computes its percentages exactly from the amounts).
UTILIZATION_CAP = Decimal("999.99")

CASH_ACCOUNT = "1010"
INVENTORY_ACCOUNT = "1300"
PROCUREMENT = "procurement"
YEAR_END_SOURCE = "accounting"

EXPENSE_CATEGORIES: dict[str, str] = {
    "5100": "Cost of Sales",
    "5200": "Salaries",
    "5300": "Inventory Losses",
}
OPERATING = "Operating"
PURCHASING = "Purchasing"


class BudgetStatus(StrEnum):
    ACTIVE = "active"
    EXCEEDED = "exceeded"
    CLOSED = "closed"


class Reason(StrEnum):
    NO_DEPARTMENT = "no_department"
    NO_MATCHING_BUDGET = "no_matching_budget"


DEBIT_NORMAL = frozenset({"asset", "expense"})


def signed_balance_delta(account_type: str, debit: Decimal, credit: Decimal) -> Decimal:
    """A line's effect on its account's balance, on the account's normal side."""
    return debit - credit if account_type in DEBIT_NORMAL else credit - debit


# ---- budgets --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """A budget's derived amounts: always computed together, so they never disagree."""

    allocated: Decimal
    spent: Decimal
    remaining: Decimal
    utilization: Decimal
    status: BudgetStatus


def utilization(allocated: Decimal, spent: Decimal) -> Decimal:
    """Spent as a percentage of allocated, two decimals, capped to fit NUMERIC(5, 2)."""
    if allocated <= 0:
        return ZERO if spent == 0 else (UTILIZATION_CAP if spent > 0 else -UTILIZATION_CAP)
    pct = (spent * HUNDRED / allocated).quantize(CENT, rounding=ROUND_HALF_UP)
    return max(-UTILIZATION_CAP, min(UTILIZATION_CAP, pct))


def figures(allocated: Decimal, spent: Decimal, status: str) -> Figures:
    """Remaining, utilization and the status that follows: exceeded while spent > allocated,
    active otherwise (also back from exceeded); a closed budget stays closed."""
    if status == BudgetStatus.CLOSED:
        new_status = BudgetStatus.CLOSED
    else:
        new_status = BudgetStatus.EXCEEDED if spent > allocated else BudgetStatus.ACTIVE
    return Figures(allocated, spent, allocated - spent, utilization(allocated, spent), new_status)


def crossed_into_exceeded(old_status: str, new: Figures) -> bool:
    """BudgetExceeded is due once per crossing: when the status becomes exceeded."""
    return old_status != BudgetStatus.EXCEEDED and new.status == BudgetStatus.EXCEEDED


def ensure_open(status: str, budget_id: uuid.UUID) -> None:
    if status == BudgetStatus.CLOSED:
        raise FailedPrecondition(f"budget {budget_id} is closed and cannot change")


def quarter_from_pb(value: int) -> int | None:
    """Proto 0 is an annual budget (NULL)."""
    return value or None


UPDATABLE_FIELDS = frozenset({"allocated_amount", "start_date", "end_date", "category"})


def validate_budget_fields(v: Validator, values: dict[str, object], prefix: str = "") -> None:
    """Checks every field present in `values`; values that failed to parse are None (reported)."""
    for name in ("department", "category"):
        if name in values:
            text = values[name]
            assert text is None or isinstance(text, str)
            v.require((text or "").strip(), prefix + name)
            v.max_len(text, prefix + name, 100)
    if "fiscal_year" in values:
        year = values["fiscal_year"]
        v.check(isinstance(year, int) and 1 <= year <= 9999, prefix + "fiscal_year", "must be between 1 and 9999")
    if "quarter" in values:
        quarter = values["quarter"]
        v.check(quarter is None or quarter in (1, 2, 3, 4), prefix + "quarter", "must be 1 to 4, or 0 for annual")
    amount = values.get("allocated_amount")
    if isinstance(amount, Decimal):
        v.check(amount > 0, prefix + "allocated_amount", "must be greater than zero")
        v.check(amount <= MAX_AMOUNT, prefix + "allocated_amount", f"must be at most {MAX_AMOUNT}")
    start, end = values.get("start_date"), values.get("end_date")
    if isinstance(start, date) and isinstance(end, date):
        v.check(end >= start, prefix + "end_date", "must be on or after start_date")


# ---- spending in journal entries ------------------------------------------------------------------


@dataclass(frozen=True)
class PostedLine:
    line_number: int
    account_code: str
    account_type: str
    debit: Decimal
    credit: Decimal
    description: str


@dataclass(frozen=True)
class PostedEntry:
    """A journal entry as finance reads it from JournalEntryPosted or JournalEntryReversed."""

    journal_entry_id: uuid.UUID
    journal_number: str
    entry_date: date
    source_service: str
    reference: str
    department: str | None
    description: str
    lines: tuple[PostedLine, ...]
    reversal_of_id: uuid.UUID | None = None
    is_closing: bool = False


@dataclass(frozen=True)
class SpendLine:
    line_number: int
    account_code: str
    category: str
    amount: Decimal
    description: str


def category_of(account_code: str) -> str:
    return EXPENSE_CATEGORIES.get(account_code, OPERATING)


def spend_lines(entry: PostedEntry) -> list[SpendLine]:
    """The lines of `entry` that are spending, with their category and signed amount."""
    if entry.is_closing or entry.source_service == YEAR_END_SOURCE:  # the source: events from before the flag
        return []
    out: list[SpendLine] = []
    for line in entry.lines:
        if line.account_type == "expense":
            category = category_of(line.account_code)
        elif entry.source_service == PROCUREMENT and line.account_code == INVENTORY_ACCOUNT:
            category = PURCHASING
        else:
            continue
        amount = line.debit - line.credit
        if amount != 0:
            out.append(SpendLine(line.line_number, line.account_code, category, amount, line.description))
    return out


def balance_deltas(entry: PostedEntry) -> dict[str, tuple[str, Decimal]]:
    """Per account: (account type, change of its normal-side balance) caused by the entry."""
    out: dict[str, tuple[str, Decimal]] = {}
    for line in entry.lines:
        delta = signed_balance_delta(line.account_type, line.debit, line.credit)
        _, before = out.get(line.account_code, (line.account_type, ZERO))
        out[line.account_code] = (line.account_type, before + delta)
    return out


@dataclass(frozen=True)
class Candidate:
    """An open budget that might take a spending."""

    id: uuid.UUID
    quarter: int | None
    start_date: date
    end_date: date
    status: str


def choose_budget(candidates: Iterable[Candidate], day: date) -> uuid.UUID | None:
    """The budget a spending dated `day` is charged to: quarterly before annual (see above)."""
    fitting = [c for c in candidates if c.status != BudgetStatus.CLOSED and c.start_date <= day <= c.end_date]
    if not fitting:
        return None
    best = min(
        fitting,
        key=lambda c: (c.quarter is None, -c.start_date.toordinal(), (c.end_date - c.start_date).days, str(c.id)),
    )
    return best.id


def sum_amounts(amounts: Sequence[Decimal]) -> Decimal:
    return sum(amounts, ZERO)
