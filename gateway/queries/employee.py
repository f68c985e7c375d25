"""Root query fields over the employee service: employees and departments."""

from __future__ import annotations

import strawberry
from erp.employee.v1 import employee_pb2 as pb
from erp.employee.v1 import employee_service_pb2 as api

from gateway.context import GatewayInfo
from gateway.pagination import Connection, ServicePage, remote_connection
from gateway.types.department import Department
from gateway.types.employee import STATUS_TO_PB, Employee, EmployeeStatus


@strawberry.input(description="Employees matching all the given criteria.")
class EmployeeFilter:
    department_ids: list[strawberry.ID] | None = None
    statuses: list[EmployeeStatus] | None = None
    query: str | None = strawberry.field(default=None, description="Case-insensitive match on name or e-mail.")


@strawberry.type
class EmployeeQueries:
    @strawberry.field(description="One employee; NOT_FOUND when the id names none.")
    async def employee(self, info: GatewayInfo, id: strawberry.ID) -> Employee | None:
        request = api.GetEmployeeRequest(id=id)
        response = await info.context.clients.employee.call(lambda s: s.GetEmployee(request))
        info.context.loaders.employee.remember_employees([response.employee])
        return Employee.from_proto(response.employee)

    @strawberry.field(description="Employees, ordered by last name, first name.")
    async def employees(
        self,
        info: GatewayInfo,
        filter: EmployeeFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Employee]:
        f = filter or EmployeeFilter()

        async def fetch(size: int, token: str) -> ServicePage[pb.Employee]:
            request = api.ListEmployeesRequest(
                page_size=size,
                page_token=token,
                department_ids=list(f.department_ids or ()),
                statuses=[STATUS_TO_PB[s] for s in f.statuses or ()],
                query=f.query or "",
            )
            response = await info.context.clients.employee.call(lambda s: s.ListEmployees(request))
            info.context.loaders.employee.remember_employees(response.employees)
            return ServicePage(response.employees, response.next_page_token, response.total_size)

        return await remote_connection(fetch, Employee.from_proto, first, after)

    @strawberry.field(description="One department; NOT_FOUND when the id names none.")
    async def department(self, info: GatewayInfo, id: strawberry.ID) -> Department | None:
        request = api.GetDepartmentRequest(id=id)
        response = await info.context.clients.employee.call(lambda s: s.GetDepartment(request))
        info.context.loaders.employee.remember_departments([response.department])
        return Department.from_proto(response.department)

    @strawberry.field(description="Departments, ordered by code.")
    async def departments(
        self, info: GatewayInfo, first: int | None = None, after: str | None = None
    ) -> Connection[Department]:
        async def fetch(size: int, token: str) -> ServicePage[pb.Department]:
            request = api.ListDepartmentsRequest(page_size=size, page_token=token)
            response = await info.context.clients.employee.call(lambda s: s.ListDepartments(request))
            info.context.loaders.employee.remember_departments(response.departments)
            return ServicePage(response.departments, response.next_page_token, response.total_size)

        return await remote_connection(fetch, Department.from_proto, first, after)
