"""Generating a report's content from accounting over gRPC (no database transaction is held
while accounting answers). The cash flow reads the cash account's entries of the period and its
balances at both ends; if accounting changes between those calls the figures are read again."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from erp.finance.v1 import finance_pb2 as pb

from services.finance import cashflow, reports
from services.finance.domain import CASH_ACCOUNT, ZERO
from services.finance.mapping import ACCOUNT_TYPE_FROM_PB
from services.finance.remote import Accounting
from services.runtime.errors import FailedPrecondition

CASH_FLOW_ATTEMPTS = 3


async def generate(accounting: Accounting, report_type: str, start: date, end: date) -> pb.FinancialReportData:
    if report_type == "income_statement":
        return reports.income_statement(await accounting.income_statement(start, end))
    if report_type == "balance_sheet":
        return reports.balance_sheet(await accounting.balance_sheet(end))
    return reports.cash_flow(await cash_flow(accounting, start, end))


async def cash_flow(accounting: Accounting, start: date, end: date) -> cashflow.CashFlow:
    last: FailedPrecondition | None = None
    for _ in range(CASH_FLOW_ATTEMPTS):
        opening = await _balance(accounting, start - timedelta(days=1)) if start > date.min else ZERO
        closing = await _balance(accounting, end)
        entries = await accounting.entries_on_account(CASH_ACCOUNT, start, end)
        codes = {line.account_code for e in entries for line in e.lines if line.account_code != CASH_ACCOUNT}
        found = await accounting.accounts(codes) if codes else {}
        accounts = {c: (ACCOUNT_TYPE_FROM_PB.get(a.account_type, ""), a.account_name) for c, a in found.items()}
        movements = [
            [
                cashflow.CashLine(
                    line.account_code, reports.amount(line.debit_amount), reports.amount(line.credit_amount)
                )
                for line in e.lines
            ]
            for e in entries
        ]
        try:
            return cashflow.statement(movements, accounts, opening, closing)
        except FailedPrecondition as exc:  # a posting landed between the calls: read again
            last = exc
    assert last is not None
    raise last


async def _balance(accounting: Accounting, day: date) -> Decimal:
    return reports.amount((await accounting.account_balance(CASH_ACCOUNT, day)).balance)
