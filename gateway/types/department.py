"""The Department entity (erp.employee.v1.Department), with its employees and budgets."""

from __future__ import annotations

from datetime import datetime

import strawberry
from erp.employee.v1 import employee_pb2 as pb

from gateway.context import GatewayInfo
from gateway.pagination import Connection, local_connection
from gateway.refs import with_references
from gateway.types.budget import Budget
from gateway.types.employee import Employee
from gateway.wire import datetime_of


@strawberry.federation.type(keys=["id"], description="An organisational unit.")
@with_references(pb.Department.DESCRIPTOR)
class Department:
    id: strawberry.ID
    name: str
    code: str
    manager_id: strawberry.ID | None
    budget_code: str | None
    create_time: datetime | None
    update_time: datetime | None

    @classmethod
    def from_proto(cls, m: pb.Department) -> Department:
        return cls(
            id=strawberry.ID(m.id),
            name=m.name,
            code=m.code,
            manager_id=strawberry.ID(m.manager_id) if m.manager_id else None,
            budget_code=m.budget_code or None,
            create_time=datetime_of(m, "create_time"),
            update_time=datetime_of(m, "update_time"),
        )

    @classmethod
    async def resolve_reference(cls, info: GatewayInfo, id: strawberry.ID) -> Department | None:
        message = await info.context.loaders.employee.departments.load(id)
        return None if message is None else cls.from_proto(message)

    @strawberry.field(description="The department's employees, ordered by last name, first name.")
    async def employees(
        self, info: GatewayInfo, first: int | None = None, after: str | None = None
    ) -> Connection[Employee]:
        members = await info.context.loaders.employee.department_employees.load(self.id)
        return local_connection(members, Employee.from_proto, first, after)

    @strawberry.field(
        description="The department's budgets (finance names them by department name), newest year first; "
        "one ListBudgets per level of the query, whatever the number of departments."
    )
    async def budgets(
        self, info: GatewayInfo, first: int | None = None, after: str | None = None
    ) -> Connection[Budget]:
        budgets = await info.context.loaders.finance.department_budgets.load(self.name)
        return local_connection(budgets, Budget.from_proto, first, after)
