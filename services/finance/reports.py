"""Financial report contents (FinancialReportData) built from accounting's own statements, so the
figures equal accounting's by construction. No I/O.

Income statement: sections "revenue" and "expenses" are accounting's lines; totals are copied.
Balance sheet: sections "assets", "liabilities", "equity"; the equity section also shows the
current earnings (net income not yet closed into retained earnings, account code empty) so that
its total equals accounting's total equity. A sheet whose assets differ from liabilities plus
equity is refused (FAILED_PRECONDITION), never stored. Cash flow: see cashflow.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from erp.accounting.v1 import accounting_pb2 as acc_pb
from erp.finance.v1 import finance_pb2 as pb
from google.type.decimal_pb2 import Decimal as PbDecimal

from services.finance.cashflow import CashFlow
from services.finance.domain import ZERO
from services.runtime.convert import decimal_to_pb
from services.runtime.errors import FailedPrecondition

CURRENT_EARNINGS = "Current earnings (not yet closed)"


def amount(value: PbDecimal) -> Decimal:
    return Decimal(value.value) if value.value else ZERO


def section(key: str, title: str, lines: Iterable[pb.ReportLine]) -> pb.ReportSection:
    items = list(lines)
    total = sum((amount(line.amount) for line in items), ZERO)
    return pb.ReportSection(key=key, title=title, lines=items, total=decimal_to_pb(total))


def _lines(lines: Iterable[acc_pb.StatementLine]) -> list[pb.ReportLine]:
    return [pb.ReportLine(account_code=x.account_code, account_name=x.account_name, amount=x.amount) for x in lines]


def income_statement(source: acc_pb.IncomeStatement) -> pb.FinancialReportData:
    return pb.FinancialReportData(
        sections=[
            section("revenue", "Revenue", _lines(source.revenue)),
            section("expenses", "Expenses", _lines(source.expenses)),
        ],
        income_statement=pb.IncomeStatementTotals(
            total_revenue=source.total_revenue,
            total_expenses=source.total_expenses,
            net_income=source.net_income,
        ),
    )


def balance_sheet(source: acc_pb.BalanceSheet) -> pb.FinancialReportData:
    assets, liabilities, equity = (
        amount(source.total_assets),
        amount(source.total_liabilities),
        amount(source.total_equity),
    )
    if not source.balanced or assets != liabilities + equity:
        raise FailedPrecondition(
            f"the balance sheet at {source.as_of_date.year:04d}-{source.as_of_date.month:02d}-"
            f"{source.as_of_date.day:02d} does not balance: assets {assets}, liabilities {liabilities}, "
            f"equity {equity}"
        )
    equity_lines = _lines(source.equity)
    earnings = amount(source.current_earnings)
    if earnings != 0:
        equity_lines.append(
            pb.ReportLine(account_code="", account_name=CURRENT_EARNINGS, amount=source.current_earnings)
        )
    return pb.FinancialReportData(
        sections=[
            section("assets", "Assets", _lines(source.assets)),
            section("liabilities", "Liabilities", _lines(source.liabilities)),
            section("equity", "Equity", equity_lines),
        ],
        balance_sheet=pb.BalanceSheetTotals(
            total_assets=source.total_assets,
            total_liabilities=source.total_liabilities,
            total_equity=source.total_equity,
            balanced=True,
        ),
    )


def cash_flow(flow: CashFlow) -> pb.FinancialReportData:
    return pb.FinancialReportData(
        sections=[
            section(
                s.key,
                s.title,
                (
                    pb.ReportLine(account_code=f.account_code, account_name=f.caption, amount=decimal_to_pb(f.amount))
                    for f in s.flows
                ),
            )
            for s in flow.sections
        ],
        cash_flow=pb.CashFlowTotals(
            net_operating=decimal_to_pb(flow.net("operating")),
            net_investing=decimal_to_pb(flow.net("investing")),
            net_financing=decimal_to_pb(flow.net("financing")),
            net_change_in_cash=decimal_to_pb(flow.net_change),
            opening_cash=decimal_to_pb(flow.opening),
            closing_cash=decimal_to_pb(flow.closing),
        ),
    )
