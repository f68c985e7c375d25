"""Loaders over the employee service: employees (basic and sensitive view), departments, and
the employees of departments."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from erp.employee.v1 import employee_pb2 as pb
from erp.employee.v1 import employee_service_pb2 as api
from strawberry.dataloader import DataLoader

from gateway.clients import Clients
from gateway.loaders.batch import MAX_BATCH, Page, by_key, forget, grouped


@dataclass
class EmployeeLoaders:
    clients: Clients
    employees: DataLoader[str, pb.Employee | None] = field(init=False)
    sensitive_employees: DataLoader[str, pb.Employee | None] = field(init=False)
    departments: DataLoader[str, pb.Department | None] = field(init=False)
    departments_by_name: DataLoader[str, pb.Department | None] = field(init=False)
    department_employees: DataLoader[str, list[pb.Employee]] = field(init=False)

    def __post_init__(self) -> None:
        self.employees = by_key(self._employees(api.EMPLOYEE_VIEW_BASIC), lambda e: e.id)
        self.sensitive_employees = by_key(self._employees(api.EMPLOYEE_VIEW_SENSITIVE), lambda e: e.id)
        self.departments = by_key(self._departments, lambda d: d.id)
        self.departments_by_name = by_key(self._departments_by_name, lambda d: d.name, uuid_keys=False)
        self.department_employees = grouped(self._employees_of_departments, lambda e: e.department_id)

    def remember_employees(self, employees: Sequence[pb.Employee]) -> None:
        """Seed the cache with employees a list already returned (basic view)."""
        self.employees.prime_many({e.id: e for e in employees})

    def remember_departments(self, departments: Sequence[pb.Department]) -> None:
        self.departments.prime_many({d.id: d for d in departments})

    def changed_employee(self, employee: pb.Employee) -> None:
        """After a change: the new state replaces what this request had seen."""
        forget(self.sensitive_employees, employee.id)
        self.department_employees.clear_all()
        self.employees.prime(employee.id, employee, force=True)

    def changed_department(self, department: pb.Department) -> None:
        self.departments.prime(department.id, department, force=True)

    def _employees(self, view: api.EmployeeView.ValueType) -> Callable[[list[str]], Any]:
        async def fetch(ids: list[str]) -> Sequence[pb.Employee]:
            request = api.BatchGetEmployeesRequest(ids=ids, view=view)
            return (await self.clients.employee.call(lambda s: s.BatchGetEmployees(request))).employees

        return fetch

    async def _departments_by_name(self, names: list[str]) -> Sequence[pb.Department]:
        """One listing filtered by all the names (a name shared by several departments names one of them)."""
        request = api.ListDepartmentsRequest(names=names, page_size=MAX_BATCH)
        response = await self.clients.employee.call(lambda s: s.ListDepartments(request))
        self.departments.prime_many({d.id: d for d in response.departments})
        return response.departments

    async def _departments(self, ids: list[str]) -> Sequence[pb.Department]:
        request = api.BatchGetDepartmentsRequest(ids=ids)
        return (await self.clients.employee.call(lambda s: s.BatchGetDepartments(request))).departments

    async def _employees_of_departments(self, department_ids: list[str], token: str) -> Page[pb.Employee]:
        request = api.ListEmployeesRequest(department_ids=department_ids, page_size=MAX_BATCH, page_token=token)
        response = await self.clients.employee.call(lambda s: s.ListEmployees(request))
        self.remember_employees(response.employees)
        return response.employees, response.next_page_token
