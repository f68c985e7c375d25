"""FinancialReport (erp.finance.v1.FinancialReport): a generated income statement, balance sheet
or cash flow statement, with its sections and the bottom lines of its kind."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import strawberry
from erp.finance.v1 import finance_pb2 as pb

from gateway.enums import ProtoEnum
from gateway.wire import amount_of, date_of, datetime_of


@strawberry.enum(description="The kind of financial statement.")
class FinancialReportType(enum.Enum):
    INCOME_STATEMENT = "INCOME_STATEMENT"
    BALANCE_SHEET = "BALANCE_SHEET"
    CASH_FLOW = "CASH_FLOW"


REPORT_TYPE = ProtoEnum(FinancialReportType, pb.FinancialReportType, "FINANCIAL_REPORT_TYPE_")


@strawberry.type(description="One account's amount in a report section.")
class FinancialReportLine:
    account_code: str
    account_name: str
    amount: Decimal = strawberry.field(description="On the account's normal side (cash flow: inflow positive).")

    @classmethod
    def from_proto(cls, m: pb.ReportLine) -> FinancialReportLine:
        return cls(account_code=m.account_code, account_name=m.account_name, amount=amount_of(m.amount))


@strawberry.type(description='A titled group of lines, e.g. "Revenue" or "Operating activities".')
class FinancialReportSection:
    key: str = strawberry.field(description='Machine name, e.g. "revenue", "assets", "operating".')
    title: str
    lines: list[FinancialReportLine]
    total: Decimal

    @classmethod
    def from_proto(cls, m: pb.ReportSection) -> FinancialReportSection:
        return cls(
            key=m.key,
            title=m.title,
            lines=[FinancialReportLine.from_proto(line) for line in m.lines],
            total=amount_of(m.total),
        )


@strawberry.type(description="The bottom lines of an income statement.")
class IncomeStatementTotals:
    total_revenue: Decimal
    total_expenses: Decimal
    net_income: Decimal

    @classmethod
    def from_proto(cls, m: pb.IncomeStatementTotals) -> IncomeStatementTotals:
        return cls(
            total_revenue=amount_of(m.total_revenue),
            total_expenses=amount_of(m.total_expenses),
            net_income=amount_of(m.net_income),
        )


@strawberry.type(description="The bottom lines of a balance sheet.")
class BalanceSheetTotals:
    total_assets: Decimal
    total_liabilities: Decimal
    total_equity: Decimal = strawberry.field(description="Including current-year earnings.")
    balanced: bool = strawberry.field(description="Whether assets equal liabilities plus equity.")

    @classmethod
    def from_proto(cls, m: pb.BalanceSheetTotals) -> BalanceSheetTotals:
        return cls(
            total_assets=amount_of(m.total_assets),
            total_liabilities=amount_of(m.total_liabilities),
            total_equity=amount_of(m.total_equity),
            balanced=m.balanced,
        )


@strawberry.type(description="The bottom lines of a cash flow statement.")
class CashFlowTotals:
    net_operating: Decimal
    net_investing: Decimal
    net_financing: Decimal
    net_change_in_cash: Decimal
    opening_cash: Decimal
    closing_cash: Decimal

    @classmethod
    def from_proto(cls, m: pb.CashFlowTotals) -> CashFlowTotals:
        return cls(
            net_operating=amount_of(m.net_operating),
            net_investing=amount_of(m.net_investing),
            net_financing=amount_of(m.net_financing),
            net_change_in_cash=amount_of(m.net_change_in_cash),
            opening_cash=amount_of(m.opening_cash),
            closing_cash=amount_of(m.closing_cash),
        )


@strawberry.type(description="A generated financial statement; the totals of its kind are set, the others null.")
class FinancialReport:
    id: strawberry.ID
    report_type: FinancialReportType
    period_start: date | None
    period_end: date | None = strawberry.field(description="The last day (a balance sheet's date).")
    sections: list[FinancialReportSection] = strawberry.field(description="In presentation order.")
    income_statement_totals: IncomeStatementTotals | None
    balance_sheet_totals: BalanceSheetTotals | None
    cash_flow_totals: CashFlowTotals | None
    generated_at: datetime | None

    @classmethod
    def from_proto(cls, m: pb.FinancialReport) -> FinancialReport:
        data = m.report_data
        totals = data.WhichOneof("totals")
        return cls(
            id=strawberry.ID(m.id),
            report_type=REPORT_TYPE.from_pb(m.report_type),
            period_start=date_of(m.period_start),
            period_end=date_of(m.period_end),
            sections=[FinancialReportSection.from_proto(s) for s in data.sections],
            income_statement_totals=(
                IncomeStatementTotals.from_proto(data.income_statement) if totals == "income_statement" else None
            ),
            balance_sheet_totals=BalanceSheetTotals.from_proto(data.balance_sheet)
            if totals == "balance_sheet"
            else None,
            cash_flow_totals=CashFlowTotals.from_proto(data.cash_flow) if totals == "cash_flow" else None,
            generated_at=datetime_of(m, "generated_at"),
        )
