"""Loaders over the finance service: budgets by id and the budgets of departments (by name)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from erp.finance.v1 import finance_pb2 as pb
from erp.finance.v1 import finance_service_pb2 as api
from strawberry.dataloader import DataLoader

from gateway.clients import Clients
from gateway.loaders.batch import MAX_BATCH, Page, by_key, grouped


@dataclass
class FinanceLoaders:
    clients: Clients
    budgets: DataLoader[str, pb.Budget | None] = field(init=False)
    department_budgets: DataLoader[str, list[pb.Budget]] = field(init=False)

    def __post_init__(self) -> None:
        self.budgets = by_key(self._budgets, lambda b: b.id)
        # Budgets name their department by name: one ListBudgets filtered by every name of the batch.
        self.department_budgets = grouped(self._budgets_of_departments, lambda b: b.department, uuid_keys=False)

    def budgets_changed(self) -> None:
        self.department_budgets.clear_all()

    async def _budgets(self, ids: list[str]) -> Sequence[pb.Budget]:
        request = api.BatchGetBudgetsRequest(ids=ids)
        return (await self.clients.finance.call(lambda s: s.BatchGetBudgets(request))).budgets

    async def _budgets_of_departments(self, names: list[str], token: str) -> Page[pb.Budget]:
        request = api.ListBudgetsRequest(departments=names, page_size=MAX_BATCH, page_token=token)
        response = await self.clients.finance.call(lambda s: s.ListBudgets(request))
        self.budgets.prime_many({b.id: b for b in response.budgets})
        return response.budgets, response.next_page_token
