"""Finance commands: budgets (allocate, change, close) and financial reports (generate)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from erp.finance.v1 import finance_pb2 as pb
from erp.finance.v1 import finance_service_pb2 as api
from google.protobuf.field_mask_pb2 import FieldMask

from gateway.context import GatewayInfo
from gateway.errors import bad_input
from gateway.types.budget import Budget
from gateway.types.financial_report import REPORT_TYPE, FinancialReport, FinancialReportType
from gateway.wire import fill, provided
from services.runtime.convert import date_to_pb, decimal_to_pb

UNSET = strawberry.UNSET


@strawberry.input(description="A new ACTIVE budget of a department (by name) for a category and period.")
class AllocateBudgetInput:
    department: str = strawberry.field(description="The department's name; it must exist.")
    fiscal_year: int
    category: str
    allocated_amount: Decimal
    start_date: date
    end_date: date
    quarter: int = strawberry.field(default=0, description="1-4; 0 (the default) for an annual budget.")


@strawberry.input(description="Only the fields given change; `version` as last read. Closed budgets do not change.")
class UpdateBudgetInput:
    id: strawberry.ID
    version: int
    allocated_amount: Decimal | None = UNSET
    start_date: date | None = UNSET
    end_date: date | None = UNSET
    category: str | None = UNSET


@strawberry.input
class CloseBudgetInput:
    id: strawberry.ID
    version: int


@strawberry.input(description="A statement over a period (a balance sheet is taken at `periodEnd`).")
class GenerateFinancialReportInput:
    report_type: FinancialReportType
    period_start: date
    period_end: date


def _budget(info: GatewayInfo, budget: pb.Budget) -> Budget:
    info.context.loaders.remember([budget], changed=True)
    info.context.loaders.finance.budgets_changed()
    return Budget.from_proto(budget)


@strawberry.type
class FinanceMutations:
    @strawberry.mutation(description="Allocates a budget (ACTIVE).")
    async def allocate_budget(self, info: GatewayInfo, input: AllocateBudgetInput) -> Budget | None:
        request = api.AllocateBudgetRequest(
            department=input.department,
            fiscal_year=input.fiscal_year,
            quarter=input.quarter,
            category=input.category,
            allocated_amount=decimal_to_pb(input.allocated_amount),
            start_date=date_to_pb(input.start_date),
            end_date=date_to_pb(input.end_date),
        )
        response = await info.context.clients.finance.call(lambda s: s.AllocateBudget(request))
        return _budget(info, response.budget)

    @strawberry.mutation(description="Changes the given fields; CONFLICT when `version` is stale.")
    async def update_budget(self, info: GatewayInfo, input: UpdateBudgetInput) -> Budget | None:
        values = provided(input, exclude=frozenset({"id", "version"}))
        if not values:
            raise bad_input("input", "name at least one field to change")
        budget = pb.Budget(id=input.id)
        fill(budget, values)
        request = api.UpdateBudgetRequest(
            budget=budget, update_mask=FieldMask(paths=list(values)), version=input.version
        )
        response = await info.context.clients.finance.call(lambda s: s.UpdateBudget(request))
        return _budget(info, response.budget)

    @strawberry.mutation(description="Closes an ACTIVE or EXCEEDED budget (CLOSED): no more spending is charged to it.")
    async def close_budget(self, info: GatewayInfo, input: CloseBudgetInput) -> Budget | None:
        request = api.CloseBudgetRequest(id=input.id, version=input.version)
        response = await info.context.clients.finance.call(lambda s: s.CloseBudget(request))
        return _budget(info, response.budget)

    @strawberry.mutation(description="Generates an income statement, balance sheet or cash flow statement.")
    async def generate_financial_report(
        self, info: GatewayInfo, input: GenerateFinancialReportInput
    ) -> FinancialReport | None:
        request = api.GenerateFinancialReportRequest(
            report_type=REPORT_TYPE.to_pb(input.report_type),
            period_start=date_to_pb(input.period_start),
            period_end=date_to_pb(input.period_end),
        )
        response = await info.context.clients.finance.call(lambda s: s.GenerateFinancialReport(request))
        return FinancialReport.from_proto(response.financial_report)
