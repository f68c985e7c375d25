"""Helpers for gateway tests: a GraphQL client and gRPC data factories."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from erp.employee.v1 import employee_pb2 as pb
from erp.employee.v1 import employee_service_pb2 as api
from erp.employee.v1 import employee_service_pb2_grpc as api_grpc
from google.protobuf.field_mask_pb2 import FieldMask
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal

from gateway.clients import RPC_COUNTER


class Gql:
    def __init__(self, client: httpx.AsyncClient, user: str | None = None) -> None:
        self.client = client
        self.user = user

    def as_user(self, user: str) -> Gql:
        """The same client, every request sent with `x-erp-user-id: user`."""
        return Gql(self.client, user)

    async def raw(self, query: str, variables: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
        if self.user:
            headers = {"x-erp-user-id": self.user, **headers}
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = await self.raw(query, variables)
        assert not body.get("errors"), body["errors"]
        result: dict[str, Any] = body["data"]
        return result

    async def error(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The one error a request produced."""
        body = await self.raw(query, variables)
        assert len(body.get("errors") or []) == 1, body
        error: dict[str, Any] = body["errors"][0]
        return error

    async def counted(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, int]]:
        """Data plus the RPCs the gateway made for it, by short method name."""
        RPC_COUNTER.reset()
        data = await self.data(query, variables)
        return data, RPC_COUNTER.by_name()


def tag() -> str:
    return uuid.uuid4().hex[:10]


async def new_department(stub: api_grpc.EmployeeServiceStub, name: str, manager_id: str = "") -> pb.Department:
    response = await stub.CreateDepartment(
        api.CreateDepartmentRequest(name=name, code=f"D{tag()}", manager_id=manager_id)
    )
    return response.department  # type: ignore[no-any-return]


async def new_employee(
    stub: api_grpc.EmployeeServiceStub, email: str, department_id: str = "", last_name: str = "Doe"
) -> pb.Employee:
    response = await stub.CreateEmployee(
        api.CreateEmployeeRequest(
            first_name="Jo",
            last_name=last_name,
            email=email,
            job_title="Engineer",
            salary=PbDecimal(value="50000.00"),
            hire_date=Date(year=2020, month=1, day=6),
            department_id=department_id,
        )
    )
    return response.employee  # type: ignore[no-any-return]


@dataclass
class Org:
    """`size` tagged employees spread over departments, each managed by an untagged employee of it."""

    tag: str
    departments: list[pb.Department] = field(default_factory=list)
    managers: list[pb.Employee] = field(default_factory=list)
    employees: list[pb.Employee] = field(default_factory=list)


async def build_org(stub: api_grpc.EmployeeServiceStub, size: int, departments: int = 4) -> Org:
    org = Org(tag())
    for d in range(departments):
        department = await new_department(stub, f"Dept {org.tag} {d}")
        manager = await new_employee(stub, f"boss-{uuid.uuid4().hex[:8]}@example.com", department.id, "Boss")
        updated = await stub.UpdateDepartment(
            api.UpdateDepartmentRequest(
                department=pb.Department(id=department.id, manager_id=manager.id),
                update_mask=FieldMask(paths=["manager_id"]),
            )
        )
        org.departments.append(updated.department)
        org.managers.append(manager)
    gate = asyncio.Semaphore(20)

    async def hire(i: int) -> pb.Employee:
        async with gate:
            department = org.departments[i % departments]
            return await new_employee(stub, f"{org.tag}-{i}@example.com", department.id, f"Member{i:04d}")

    org.employees = list(await asyncio.gather(*(hire(i) for i in range(size))))
    return org
