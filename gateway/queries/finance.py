"""Root query fields over the finance service: budgets."""

from __future__ import annotations

import strawberry
from erp.finance.v1 import finance_pb2 as pb
from erp.finance.v1 import finance_service_pb2 as api

from gateway.context import GatewayInfo
from gateway.pagination import Connection, ServicePage, remote_connection
from gateway.types.budget import BUDGET_STATUS, Budget, BudgetStatus


@strawberry.input(description="Budgets matching all the given criteria.")
class BudgetFilter:
    departments: list[str] | None = strawberry.field(default=None, description="Department names.")
    fiscal_year: int | None = None
    quarter: int | None = None
    categories: list[str] | None = None
    statuses: list[BudgetStatus] | None = None


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
