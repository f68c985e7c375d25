"""Budget vs actual (erp.finance.v1.GetBudgetVsActualResponse): budgets compared with spending."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from erp.finance.v1 import finance_pb2 as pb
from erp.finance.v1 import finance_service_pb2 as api

from gateway.refs import with_references
from gateway.types.budget import BUDGET_STATUS, BudgetStatus
from gateway.wire import amount_of


@strawberry.type(description="One budget compared with the spending attributed to it.")
@with_references(pb.BudgetVsActualRow.DESCRIPTOR)
class BudgetVsActualRow:
    budget_id: strawberry.ID
    department: str
    category: str
    fiscal_year: int
    quarter: int = strawberry.field(description="1-4; 0 for an annual budget.")
    allocated_amount: Decimal
    actual_amount: Decimal
    variance: Decimal = strawberry.field(description="Allocated minus actual (negative when over budget).")
    variance_percentage: Decimal = strawberry.field(description="Variance as a percentage of allocated.")
    status: BudgetStatus

    @classmethod
    def from_proto(cls, m: pb.BudgetVsActualRow) -> BudgetVsActualRow:
        return cls(
            budget_id=strawberry.ID(m.budget_id),
            department=m.department,
            category=m.category,
            fiscal_year=m.fiscal_year,
            quarter=m.quarter,
            allocated_amount=amount_of(m.allocated_amount),
            actual_amount=amount_of(m.actual_amount),
            variance=amount_of(m.variance),
            variance_percentage=amount_of(m.variance_percentage),
            status=BUDGET_STATUS.from_pb(m.status),
        )


@strawberry.type(description="Budgets compared with actual spending, one row per budget, with the totals.")
class BudgetVsActual:
    rows: list[BudgetVsActualRow] = strawberry.field(description="Ordered by department, category.")
    total_allocated: Decimal
    total_actual: Decimal
    total_variance: Decimal

    @classmethod
    def from_proto(cls, m: api.GetBudgetVsActualResponse) -> BudgetVsActual:
        return cls(
            rows=[BudgetVsActualRow.from_proto(r) for r in m.rows],
            total_allocated=amount_of(m.total_allocated),
            total_actual=amount_of(m.total_actual),
            total_variance=amount_of(m.total_variance),
        )
