"""Financial statement arithmetic as plain Python: trial balance, income statement, balance
sheet. Input is per-account debit/credit totals (read by reports.py); no I/O here.

Amounts are on each account's normal side (see domain.py). The balance sheet's equity includes
the current earnings: revenue minus expenses not yet closed into retained earnings, so
assets = liabilities + equity holds whenever the ledger balances.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from services.accounting.domain import ZERO, AccountTotals, AccountType


@dataclass(frozen=True)
class Line:
    account_code: str
    account_name: str
    account_type: str
    amount: Decimal


@dataclass(frozen=True)
class TrialBalanceLine:
    account_code: str
    account_name: str
    account_type: str
    debit_balance: Decimal
    credit_balance: Decimal


@dataclass(frozen=True)
class TrialBalance:
    lines: list[TrialBalanceLine]
    total_debit: Decimal
    total_credit: Decimal

    @property
    def balanced(self) -> bool:
        return self.total_debit == self.total_credit


def trial_balance(rows: Iterable[AccountTotals]) -> TrialBalance:
    """Every account with a non-zero balance, on the side where its balance lies."""
    lines: list[TrialBalanceLine] = []
    total_debit = total_credit = ZERO
    for r in sorted(rows, key=lambda r: r.account_code):
        net = r.debit - r.credit
        if net == 0:
            continue
        debit, credit = (net, ZERO) if net > 0 else (ZERO, -net)
        lines.append(TrialBalanceLine(r.account_code, r.account_name, r.account_type, debit, credit))
        total_debit += debit
        total_credit += credit
    return TrialBalance(lines, total_debit, total_credit)


def _lines_of(rows: Iterable[AccountTotals], account_type: AccountType) -> tuple[list[Line], Decimal]:
    lines = [
        Line(r.account_code, r.account_name, r.account_type, r.balance)
        for r in sorted(rows, key=lambda r: r.account_code)
        if r.account_type == account_type and r.balance != 0
    ]
    return lines, sum((line.amount for line in lines), ZERO)


@dataclass(frozen=True)
class IncomeStatement:
    revenue: list[Line]
    expenses: list[Line]
    total_revenue: Decimal
    total_expenses: Decimal

    @property
    def net_income(self) -> Decimal:
        return self.total_revenue - self.total_expenses


def income_statement(rows: Iterable[AccountTotals]) -> IncomeStatement:
    rows = list(rows)
    revenue, total_revenue = _lines_of(rows, AccountType.REVENUE)
    expenses, total_expenses = _lines_of(rows, AccountType.EXPENSE)
    return IncomeStatement(revenue, expenses, total_revenue, total_expenses)


@dataclass(frozen=True)
class BalanceSheet:
    assets: list[Line]
    liabilities: list[Line]
    equity: list[Line]
    current_earnings: Decimal
    total_assets: Decimal
    total_liabilities: Decimal
    total_equity: Decimal

    @property
    def balanced(self) -> bool:
        return self.total_assets == self.total_liabilities + self.total_equity


def balance_sheet(rows: Iterable[AccountTotals]) -> BalanceSheet:
    """Balances at a date of every account since the beginning of the books."""
    rows = list(rows)
    assets, total_assets = _lines_of(rows, AccountType.ASSET)
    liabilities, total_liabilities = _lines_of(rows, AccountType.LIABILITY)
    equity, total_equity_accounts = _lines_of(rows, AccountType.EQUITY)
    current_earnings = income_statement(rows).net_income
    return BalanceSheet(
        assets,
        liabilities,
        equity,
        current_earnings,
        total_assets,
        total_liabilities,
        total_equity_accounts + current_earnings,
    )
