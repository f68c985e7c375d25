"""The Budget entity (erp.finance.v1.Budget): money allocated to a department for a category."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import strawberry
from erp.finance.v1 import finance_pb2 as pb

from gateway.context import GatewayInfo
from gateway.enums import ProtoEnum
from gateway.refs import with_references
from gateway.wire import amount_of, date_of, datetime_of


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
