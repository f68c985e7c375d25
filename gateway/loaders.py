"""Per-request DataLoaders over the services' batch RPCs (one set per GraphQL request).

Loaders return protobuf messages; the GraphQL types convert them. Each batch is one RPC (or one
paged listing), whatever the number of keys asked for in the same tick.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from erp.employee.v1 import employee_pb2 as pb
from erp.employee.v1 import employee_service_pb2 as api
from strawberry.dataloader import DataLoader

from gateway.clients import Clients

MAX_BATCH = 1000  # the services' BatchGet and page size limit


def _valid_ids(keys: Sequence[str]) -> list[str]:
    """Keys that can name an entity; anything else resolves to null without asking."""
    out = []
    for key in dict.fromkeys(keys):
        try:
            uuid.UUID(key)
        except ValueError:
            continue
        out.append(key)
    return out


# Entity message -> the attribute of `Loaders` that loads it by id (basic view, then with sensitive fields).
BY_ENTITY = {pb.Employee.DESCRIPTOR.full_name: "employees", pb.Department.DESCRIPTOR.full_name: "departments"}
SENSITIVE_BY_ENTITY = {pb.Employee.DESCRIPTOR.full_name: "sensitive_employees"}


def _forget(loader: DataLoader[str, Any], key: str) -> None:
    with contextlib.suppress(KeyError):  # DataLoader.clear raises for keys it never loaded
        loader.clear(key)


@dataclass
class Loaders:
    clients: Clients
    employees: DataLoader[str, pb.Employee | None] = field(init=False)
    sensitive_employees: DataLoader[str, pb.Employee | None] = field(init=False)
    departments: DataLoader[str, pb.Department | None] = field(init=False)
    department_employees: DataLoader[str, list[pb.Employee]] = field(init=False)

    def __post_init__(self) -> None:
        self.employees = DataLoader(self._batch_employees(api.EMPLOYEE_VIEW_BASIC), max_batch_size=MAX_BATCH)
        self.sensitive_employees = DataLoader(
            self._batch_employees(api.EMPLOYEE_VIEW_SENSITIVE), max_batch_size=MAX_BATCH
        )
        self.departments = DataLoader(self._batch_departments, max_batch_size=MAX_BATCH)
        self.department_employees = DataLoader(self._employees_of_departments, max_batch_size=MAX_BATCH)

    def for_entity(self, full_name: str) -> DataLoader[str, Any]:
        """The by-id loader registered for an entity message ("erp.employee.v1.Employee")."""
        return getattr(self, BY_ENTITY[full_name])  # type: ignore[no-any-return]

    def for_sensitive(self, full_name: str) -> DataLoader[str, Any]:
        """The by-id loader that also returns the entity's sensitive fields."""
        return getattr(self, SENSITIVE_BY_ENTITY[full_name])  # type: ignore[no-any-return]

    def remember_employees(self, employees: Sequence[pb.Employee]) -> None:
        """Seed the cache with employees a list already returned (basic view)."""
        self.employees.prime_many({e.id: e for e in employees})

    def remember_departments(self, departments: Sequence[pb.Department]) -> None:
        self.departments.prime_many({d.id: d for d in departments})

    def changed_employee(self, employee: pb.Employee) -> None:
        """After a change: the new state replaces what this request had seen."""
        _forget(self.sensitive_employees, employee.id)
        self.department_employees.clear_all()
        self.employees.prime(employee.id, employee, force=True)

    def changed_department(self, department: pb.Department) -> None:
        self.departments.prime(department.id, department, force=True)

    def _batch_employees(self, view: api.EmployeeView.ValueType) -> Callable[[list[str]], Any]:
        async def load(ids: list[str]) -> list[pb.Employee | None]:
            wanted = _valid_ids(ids)
            found: dict[str, pb.Employee] = {}
            if wanted:
                request = api.BatchGetEmployeesRequest(ids=wanted, view=view)
                response = await self.clients.employee.call(lambda s: s.BatchGetEmployees(request))
                found = {e.id: e for e in response.employees}
            return [found.get(i) for i in ids]

        return load

    async def _batch_departments(self, ids: list[str]) -> list[pb.Department | None]:
        wanted = _valid_ids(ids)
        found: dict[str, pb.Department] = {}
        if wanted:
            request = api.BatchGetDepartmentsRequest(ids=wanted)
            response = await self.clients.employee.call(lambda s: s.BatchGetDepartments(request))
            found = {d.id: d for d in response.departments}
        return [found.get(i) for i in ids]

    async def _employees_of_departments(self, department_ids: list[str]) -> list[list[pb.Employee]]:
        """All employees of these departments, in the service's order, through every page."""
        wanted = _valid_ids(department_ids)
        grouped: dict[str, list[pb.Employee]] = {d: [] for d in department_ids}
        token = ""
        while wanted:
            response = await self._list_employees(
                api.ListEmployeesRequest(department_ids=wanted, page_size=MAX_BATCH, page_token=token)
            )
            for employee in response.employees:
                grouped[employee.department_id].append(employee)
            self.remember_employees(response.employees)
            token = response.next_page_token
            if not token:
                break
        return [grouped[d] for d in department_ids]

    async def _list_employees(self, request: api.ListEmployeesRequest) -> api.ListEmployeesResponse:
        return await self.clients.employee.call(lambda s: s.ListEmployees(request))
