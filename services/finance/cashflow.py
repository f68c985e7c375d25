"""The cash flow statement, direct method, as plain Python: cash (account 1010) movements of a
period classified by their counter-accounts. No I/O.

Each entry's cash movement (debits minus credits on 1010) is explained by its other lines: each
non-cash line contributes credit minus debit, and in a balanced entry these contributions add up
to the cash movement exactly (an entry paying salaries, Dr 2100 / Cr 1010, contributes -x on 2100).
Contributions are summed per counter-account; the account decides the activity and the caption:

    1200 Accounts Receivable              operating  Receipts from customers
    2100 Salary Payable                   operating  Payments to employees
    2200 Payroll Tax Withholdings         operating  Payroll taxes and withholdings paid
    2010 Accounts Payable, 2050 GRNI,
    1300 Inventory                        operating  Payments to suppliers
    2300 Sales Tax Payable                operating  Sales tax
    other revenue / expense accounts      operating  Other operating receipts and payments
    other asset accounts                  investing  Purchases and sales of assets
    other liability accounts              financing  Borrowings and other liabilities
    equity accounts                       financing  Owner contributions and distributions

Lines are signed, inflows positive; the net change must equal the change of the 1010 balance.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from services.finance.domain import CASH_ACCOUNT, ZERO
from services.runtime.errors import FailedPrecondition

OPERATING, INVESTING, FINANCING = "operating", "investing", "financing"
ACTIVITIES: tuple[tuple[str, str], ...] = (
    (OPERATING, "Operating activities"),
    (INVESTING, "Investing activities"),
    (FINANCING, "Financing activities"),
)
KNOWN: dict[str, tuple[str, str]] = {
    "1200": (OPERATING, "Receipts from customers"),
    "2100": (OPERATING, "Payments to employees"),
    "2200": (OPERATING, "Payroll taxes and withholdings paid"),
    "2010": (OPERATING, "Payments to suppliers"),
    "2050": (OPERATING, "Payments to suppliers"),
    "1300": (OPERATING, "Payments to suppliers"),
    "2300": (OPERATING, "Sales tax"),
}
BY_TYPE: dict[str, tuple[str, str]] = {
    "revenue": (OPERATING, "Other operating receipts"),
    "expense": (OPERATING, "Other operating payments"),
    "asset": (INVESTING, "Purchases and sales of assets"),
    "liability": (FINANCING, "Borrowings and other liabilities"),
    "equity": (FINANCING, "Owner contributions and distributions"),
}


@dataclass(frozen=True)
class CashLine:
    account_code: str
    debit: Decimal
    credit: Decimal


@dataclass(frozen=True)
class Flow:
    account_code: str
    caption: str
    amount: Decimal


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    flows: list[Flow]

    @property
    def total(self) -> Decimal:
        return sum((f.amount for f in self.flows), ZERO)


@dataclass(frozen=True)
class CashFlow:
    sections: list[Section]
    opening: Decimal
    closing: Decimal

    def net(self, key: str) -> Decimal:
        return next(s.total for s in self.sections if s.key == key)

    @property
    def net_change(self) -> Decimal:
        return sum((s.total for s in self.sections), ZERO)


def classify(account_code: str, account_type: str, account_name: str) -> tuple[str, str]:
    """(activity, caption) of a counter-account."""
    if account_code in KNOWN:
        return KNOWN[account_code]
    activity, caption = BY_TYPE.get(account_type, (OPERATING, "Other"))
    return activity, f"{caption}: {account_name}" if account_name else caption


def contributions(entries: Iterable[Iterable[CashLine]]) -> dict[str, Decimal]:
    """Cash explained per counter-account over all entries that move cash."""
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for entry in entries:
        lines = list(entry)
        cash = sum((line.debit - line.credit for line in lines if line.account_code == CASH_ACCOUNT), ZERO)
        if cash == 0:
            continue
        for line in lines:
            if line.account_code != CASH_ACCOUNT and line.credit != line.debit:
                out[line.account_code] += line.credit - line.debit
    return dict(out)


def statement(
    entries: Iterable[Iterable[CashLine]],
    accounts: dict[str, tuple[str, str]],
    opening: Decimal,
    closing: Decimal,
) -> CashFlow:
    """The statement; `accounts` maps code -> (type, name). Raises FailedPrecondition when the
    movements do not explain the change of the cash balance."""
    flows: dict[str, list[Flow]] = defaultdict(list)
    for code, amount in sorted(contributions(entries).items()):
        if amount == 0:
            continue
        account_type, name = accounts.get(code, ("", ""))
        activity, caption = classify(code, account_type, name)
        flows[activity].append(Flow(code, caption, amount))
    result = CashFlow([Section(key, title, flows[key]) for key, title in ACTIVITIES], opening, closing)
    if result.net_change != closing - opening:
        raise FailedPrecondition(
            f"cash movements ({result.net_change}) do not explain the change of the cash balance "
            f"({closing - opening}) in the period"
        )
    return result
