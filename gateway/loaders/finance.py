"""Loaders over the finance service: budgets by id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from erp.finance.v1 import finance_pb2 as pb
from erp.finance.v1 import finance_service_pb2 as api
from strawberry.dataloader import DataLoader

from gateway.clients import Clients
from gateway.loaders.batch import by_key


@dataclass
class FinanceLoaders:
    clients: Clients
    budgets: DataLoader[str, pb.Budget | None] = field(init=False)

    def __post_init__(self) -> None:
        self.budgets = by_key(self._budgets, lambda b: b.id)

    async def _budgets(self, ids: list[str]) -> Sequence[pb.Budget]:
        request = api.BatchGetBudgetsRequest(ids=ids)
        return (await self.clients.finance.call(lambda s: s.BatchGetBudgets(request))).budgets
