"""Department commands: create and change."""

from __future__ import annotations

import strawberry
from erp.employee.v1 import employee_pb2 as pb
from erp.employee.v1 import employee_service_pb2 as api
from google.protobuf.field_mask_pb2 import FieldMask

from gateway.context import GatewayInfo
from gateway.errors import bad_input
from gateway.types.department import Department
from gateway.wire import fill, provided

UNSET = strawberry.UNSET


@strawberry.input
class CreateDepartmentInput:
    name: str
    code: str
    manager_id: strawberry.ID | None = None
    budget_code: str | None = None


@strawberry.input(description="Only the fields given change (null clears an optional one).")
class UpdateDepartmentInput:
    id: strawberry.ID
    name: str | None = UNSET
    code: str | None = UNSET
    manager_id: strawberry.ID | None = UNSET
    budget_code: str | None = UNSET


def _changed(info: GatewayInfo, department: pb.Department) -> Department:
    info.context.loaders.employee.changed_department(department)
    return Department.from_proto(department)


@strawberry.type
class DepartmentMutations:
    @strawberry.mutation(description="Creates a department.")
    async def create_department(self, info: GatewayInfo, input: CreateDepartmentInput) -> Department | None:
        request = api.CreateDepartmentRequest()
        fill(request, provided(input))
        response = await info.context.clients.employee.call(lambda s: s.CreateDepartment(request))
        return _changed(info, response.department)

    @strawberry.mutation(description="Changes the given fields (name, code, manager, budget code).")
    async def update_department(self, info: GatewayInfo, input: UpdateDepartmentInput) -> Department | None:
        values = provided(input, exclude=frozenset({"id"}))
        if not values:
            raise bad_input("input", "name at least one field to change")
        department = pb.Department(id=input.id)
        fill(department, values)
        request = api.UpdateDepartmentRequest(department=department, update_mask=FieldMask(paths=list(values)))
        response = await info.context.clients.employee.call(lambda s: s.UpdateDepartment(request))
        return _changed(info, response.department)
