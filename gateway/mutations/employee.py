"""Employee commands: hire, change, terminate, rehire, leave."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from erp.employee.v1 import employee_pb2 as pb
from erp.employee.v1 import employee_service_pb2 as api
from google.protobuf.field_mask_pb2 import FieldMask

from gateway.context import GatewayInfo
from gateway.errors import bad_input
from gateway.types.employee import Employee
from gateway.wire import fill, provided

UNSET = strawberry.UNSET


@strawberry.input(description="A new employee (basic fields plus, optionally, the sensitive numbers).")
class CreateEmployeeInput:
    first_name: str
    last_name: str
    email: str
    job_title: str
    salary: Decimal
    hire_date: date
    phone_number: str | None = None
    department_id: strawberry.ID | None = None
    social_security_number: str | None = None
    bank_account_number: str | None = None


@strawberry.input(description="Only the fields given change (null clears an optional one); `version` as last read.")
class UpdateEmployeeInput:
    id: strawberry.ID
    version: int
    first_name: str | None = UNSET
    last_name: str | None = UNSET
    email: str | None = UNSET
    phone_number: str | None = UNSET
    job_title: str | None = UNSET
    salary: Decimal | None = UNSET
    hire_date: date | None = UNSET
    department_id: strawberry.ID | None = UNSET
    social_security_number: str | None = UNSET
    bank_account_number: str | None = UNSET


@strawberry.input
class TerminateEmployeeInput:
    id: strawberry.ID
    version: int
    termination_date: date
    reason: str | None = None


@strawberry.input(description="Salary and department stay as they were when not given.")
class RehireEmployeeInput:
    id: strawberry.ID
    version: int
    hire_date: date
    salary: Decimal | None = None
    department_id: strawberry.ID | None = None


@strawberry.input
class LeaveInput:
    id: strawberry.ID
    version: int


def _changed(info: GatewayInfo, employee: pb.Employee) -> Employee:
    info.context.loaders.employee.changed_employee(employee)
    return Employee.from_proto(employee)


@strawberry.type
class EmployeeMutations:
    @strawberry.mutation(description="Hires an employee.")
    async def create_employee(self, info: GatewayInfo, input: CreateEmployeeInput) -> Employee | None:
        request = api.CreateEmployeeRequest()
        fill(request, provided(input))
        response = await info.context.clients.employee.call(lambda s: s.CreateEmployee(request))
        return _changed(info, response.employee)

    @strawberry.mutation(description="Changes the given fields (FieldMask built from them); CONFLICT when stale.")
    async def update_employee(self, info: GatewayInfo, input: UpdateEmployeeInput) -> Employee | None:
        values = provided(input, exclude=frozenset({"id", "version"}))
        if not values:
            raise bad_input("input", "name at least one field to change")
        employee = pb.Employee(id=input.id)
        fill(employee, values)
        request = api.UpdateEmployeeRequest(
            employee=employee, update_mask=FieldMask(paths=list(values)), version=input.version
        )
        response = await info.context.clients.employee.call(lambda s: s.UpdateEmployee(request))
        return _changed(info, response.employee)

    @strawberry.mutation(description="Terminates an active or on-leave employee.")
    async def terminate_employee(self, info: GatewayInfo, input: TerminateEmployeeInput) -> Employee | None:
        request = api.TerminateEmployeeRequest()
        fill(request, provided(input))
        response = await info.context.clients.employee.call(lambda s: s.TerminateEmployee(request))
        return _changed(info, response.employee)

    @strawberry.mutation(description="Brings a terminated employee back as active.")
    async def rehire_employee(self, info: GatewayInfo, input: RehireEmployeeInput) -> Employee | None:
        request = api.RehireEmployeeRequest()
        fill(request, provided(input))
        response = await info.context.clients.employee.call(lambda s: s.RehireEmployee(request))
        return _changed(info, response.employee)

    @strawberry.mutation(description="Moves an active employee to ON_LEAVE.")
    async def start_leave(self, info: GatewayInfo, input: LeaveInput) -> Employee | None:
        request = api.StartLeaveRequest(id=input.id, version=input.version)
        response = await info.context.clients.employee.call(lambda s: s.StartLeave(request))
        return _changed(info, response.employee)

    @strawberry.mutation(description="Moves an employee on leave back to ACTIVE.")
    async def end_leave(self, info: GatewayInfo, input: LeaveInput) -> Employee | None:
        request = api.EndLeaveRequest(id=input.id, version=input.version)
        response = await info.context.clients.employee.call(lambda s: s.EndLeave(request))
        return _changed(info, response.employee)
