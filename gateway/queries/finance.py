"""Root query fields over the finance service: budgets, budget vs actual and financial reports."""

from __future__ import annotations

from datetime import date

import strawberry
from erp.finance.v1 import finance_pb2 as pb
from erp.finance.v1 import finance_service_pb2 as api

from gateway.context import GatewayInfo
from gateway.pagination import Connection, ServicePage, remote_connection
from gateway.types.budget import BUDGET_STATUS, Budget, BudgetStatus
from gateway.types.budget_vs_actual import BudgetVsActual
from gateway.types.financial_report import REPORT_TYPE, FinancialReport, FinancialReportType
from services.runtime.convert import date_to_pb


@strawberry.input(description="Budgets matching all the given criteria.")
class BudgetFilter:
    departments: list[str] | None = strawberry.field(default=None, description="Department names.")
    fiscal_year: int | None = None
    quarter: int | None = None
    categories: list[str] | None = None
    statuses: list[BudgetStatus] | None = None


@strawberry.input(description="Generated reports matching all the given criteria.")
class FinancialReportFilter:
    report_types: list[FinancialReportType] | None = None
    period_start_from: date | None = strawberry.field(default=None, description="Period starts on or after.")
    period_end_to: date | None = strawberry.field(default=None, description="Period ends on or before.")


@strawberry.type
class FinanceQueries:
    @strawberry.field(description="One budget; NOT_FOUND when the id names none.")
    async def budget(self, info: GatewayInfo, id: strawberry.ID) -> Budget | None:
        request = api.GetBudgetRequest(id=id)
        budget = (await info.context.clients.finance.call(lambda s: s.GetBudget(request))).budget
        info.context.loaders.remember([budget])
        return Budget.from_proto(budget)

    @strawberry.field(description="Budgets matching the filter.")
    async def budgets(
        self,
        info: GatewayInfo,
        filter: BudgetFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Budget]:
        f = filter or BudgetFilter()

        async def fetch(size: int, token: str) -> ServicePage[pb.Budget]:
            request = api.ListBudgetsRequest(
                page_size=size,
                page_token=token,
                departments=list(f.departments or ()),
                fiscal_year=f.fiscal_year or 0,
                quarter=f.quarter or 0,
                categories=list(f.categories or ()),
                statuses=BUDGET_STATUS.to_pb_list(f.statuses),
            )
            response = await info.context.clients.finance.call(lambda s: s.ListBudgets(request))
            info.context.loaders.remember(response.budgets)
            return ServicePage(response.budgets, response.next_page_token, response.total_size)

        return await remote_connection(fetch, Budget.from_proto, first, after)

    @strawberry.field(
        description="Budgets of a fiscal year (of one quarter when `quarter` is given) compared with spending."
    )
    async def budget_vs_actual(
        self,
        info: GatewayInfo,
        fiscal_year: int,
        quarter: int | None = None,
        departments: list[str] | None = None,
        categories: list[str] | None = None,
    ) -> BudgetVsActual | None:
        request = api.GetBudgetVsActualRequest(
            fiscal_year=fiscal_year,
            quarter=quarter or 0,
            departments=list(departments or ()),
            categories=list(categories or ()),
        )
        response = await info.context.clients.finance.call(lambda s: s.GetBudgetVsActual(request))
        return BudgetVsActual.from_proto(response)

    @strawberry.field(description="Generated financial reports, newest first.")
    async def financial_reports(
        self,
        info: GatewayInfo,
        filter: FinancialReportFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[FinancialReport]:
        f = filter or FinancialReportFilter()

        async def fetch(size: int, token: str) -> ServicePage[pb.FinancialReport]:
            request = api.ListFinancialReportsRequest(
                page_size=size,
                page_token=token,
                report_types=REPORT_TYPE.to_pb_list(f.report_types),
                period_start_from=date_to_pb(f.period_start_from),
                period_end_to=date_to_pb(f.period_end_to),
            )
            response = await info.context.clients.finance.call(lambda s: s.ListFinancialReports(request))
            return ServicePage(response.financial_reports, response.next_page_token, response.total_size)

        return await remote_connection(fetch, FinancialReport.from_proto, first, after)
