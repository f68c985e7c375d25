"""IncomeStatement (erp.accounting.v1.IncomeStatement): revenue and expenses over a period."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from erp.accounting.v1 import accounting_pb2 as pb

from gateway.types.statement_line import StatementLine
from gateway.wire import amount_of, date_of


@strawberry.type(description="Revenue and expenses over a period, for the company or one department.")
class IncomeStatement:
    start_date: date
    end_date: date
    department: str | None
    revenue: list[StatementLine]
    expenses: list[StatementLine]
    total_revenue: Decimal
    total_expenses: Decimal
    net_income: Decimal

    @classmethod
    def from_proto(cls, m: pb.IncomeStatement) -> IncomeStatement:
        return cls(
            start_date=date_of(m.start_date) or date.min,
            end_date=date_of(m.end_date) or date.min,
            department=m.department or None,
            revenue=[StatementLine.from_proto(line) for line in m.revenue],
            expenses=[StatementLine.from_proto(line) for line in m.expenses],
            total_revenue=amount_of(m.total_revenue),
            total_expenses=amount_of(m.total_expenses),
            net_income=amount_of(m.net_income),
        )
