"""The Budget entity (erp.finance.v1.Budget): money allocated to a department for a category,
with the spending charged to it."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import strawberry
from erp.finance.v1 import finance_pb2 as pb
from erp.finance.v1 import finance_service_pb2 as api

from gateway.context import GatewayInfo
from gateway.enums import ProtoEnum
from gateway.pagination import Connection, ServicePage, remote_connection
from gateway.refs import with_references
from gateway.types.budget_transaction import BudgetTransaction
from gateway.wire import amount_of, date_of, datetime_of
from services.runtime.convert import date_to_pb


@strawberry.enum(description="ACTIVE -> EXCEEDED (spent more than allocated); CLOSED at the end.")
class BudgetStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    EXCEEDED = "EXCEEDED"
    CLOSED = "CLOSED"


BUDGET_STATUS = ProtoEnum(BudgetStatus, pb.BudgetStatus, "BUDGET_STATUS_")


@strawberry.federation.type(keys=["id"], description="Money allocated to a department for a category and period.")
@with_references(pb.Budget.DESCRIPTOR)
class Budget:
    id: strawberry.ID
    department: str = strawberry.field(description="The department's name (see `departmentRef`).")
    fiscal_year: int
    quarter: int = strawberry.field(description="1-4; 0 for an annual budget.")
    category: str
    allocated_amount: Decimal
    spent_amount: Decimal
    remaining_amount: Decimal = strawberry.field(description="Negative when exceeded.")
    utilization_percentage: Decimal
    status: BudgetStatus
    start_date: date | None
    end_date: date | None
    create_time: datetime | None
    update_time: datetime | None
    version: int = strawberry.field(description="Optimistic-locking version: send it back with every change.")

    @classmethod
    def from_proto(cls, m: pb.Budget) -> Budget:
        return cls(
            id=strawberry.ID(m.id),
            department=m.department,
            fiscal_year=m.fiscal_year,
            quarter=m.quarter,
            category=m.category,
            allocated_amount=amount_of(m.allocated_amount),
            spent_amount=amount_of(m.spent_amount),
            remaining_amount=amount_of(m.remaining_amount),
            utilization_percentage=amount_of(m.utilization_percentage),
            status=BUDGET_STATUS.from_pb(m.status),
            start_date=date_of(m.start_date),
            end_date=date_of(m.end_date),
            create_time=datetime_of(m, "create_time"),
            update_time=datetime_of(m, "update_time"),
            version=m.version,
        )

    @classmethod
    async def resolve_reference(cls, info: GatewayInfo, id: strawberry.ID) -> Budget | None:
        message = await info.context.loaders.finance.budgets.load(id)
        return None if message is None else cls.from_proto(message)

    @strawberry.field(description="The spending charged to the budget, newest first (one listing per budget).")
    async def transactions(
        self,
        info: GatewayInfo,
        start_date: date | None = None,
        end_date: date | None = None,
        source_service: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[BudgetTransaction]:
        async def fetch(size: int, token: str) -> ServicePage[pb.BudgetTransaction]:
            request = api.ListBudgetTransactionsRequest(
                budget_id=self.id,
                page_size=size,
                page_token=token,
                start_date=date_to_pb(start_date),
                end_date=date_to_pb(end_date),
                source_service=source_service or "",
            )
            response = await info.context.clients.finance.call(lambda s: s.ListBudgetTransactions(request))
            return ServicePage(response.budget_transactions, response.next_page_token, response.total_size)

        return await remote_connection(fetch, BudgetTransaction.from_proto, first, after)
