"""The employee service as payroll reads it: whole batches and pages, never one call per employee.

Results come back as employee_cache rows (dicts keyed by column), department names resolved
with one BatchGetDepartments (or ListDepartments pages for a full reload).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import grpc
from erp.employee.v1 import employee_pb2 as emp
from erp.employee.v1 import employee_service_pb2 as api
from erp.employee.v1 import employee_service_pb2_grpc as api_grpc

from services.runtime.convert import date_from_pb, decimal_from_pb

PAGE_SIZE = 1000
BATCH_LIMIT = 1000

EMPLOYEE_STATUS = {
    emp.EMPLOYEE_STATUS_ACTIVE: "active",
    emp.EMPLOYEE_STATUS_ON_LEAVE: "on_leave",
    emp.EMPLOYEE_STATUS_TERMINATED: "terminated",
}


def cache_row(e: emp.Employee, department: str | None, now: datetime) -> dict[str, Any]:
    """An employee_cache row from the employee service's resource."""
    return {
        "employee_id": uuid.UUID(e.id),
        "first_name": e.first_name,
        "last_name": e.last_name,
        "email": e.email or None,
        "salary": decimal_from_pb(e.salary, "salary"),
        "department": department,
        "department_id": uuid.UUID(e.department_id) if e.department_id else None,
        "status": EMPLOYEE_STATUS[e.status],
        "hire_date": date_from_pb(e.hire_date, "hire_date"),
        "termination_date": date_from_pb(e.termination_date, "termination_date", required=False),
        "employee_version": e.version,
        "last_synced_at": now,
    }


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class EmployeeDirectory:
    """Reads employees and department names from the employee service over gRPC."""

    def __init__(self, channel: grpc.aio.Channel, deadline_s: float) -> None:
        self.stub = api_grpc.EmployeeServiceStub(channel)
        self.deadline_s = deadline_s

    async def batch_get(self, ids: Iterable[uuid.UUID], now: datetime) -> list[dict[str, Any]]:
        """Cache rows of the given employees: one BatchGetEmployees per 1000 ids (unknown ids absent)."""
        wanted = sorted({str(i) for i in ids})
        employees: list[emp.Employee] = []
        for chunk in _chunks(wanted, BATCH_LIMIT):
            response = await self.stub.BatchGetEmployees(
                api.BatchGetEmployeesRequest(ids=chunk, view=api.EMPLOYEE_VIEW_BASIC), timeout=self.deadline_s
            )
            employees.extend(response.employees)
        names = await self._department_names({e.department_id for e in employees if e.department_id})
        return [cache_row(e, names.get(e.department_id), now) for e in employees]

    async def list_all(self, now: datetime) -> list[dict[str, Any]]:
        """Cache rows of every employee, paging through ListEmployees (page_size 1000)."""
        employees: list[emp.Employee] = []
        token = ""
        while True:
            page = await self.stub.ListEmployees(
                api.ListEmployeesRequest(page_size=PAGE_SIZE, page_token=token), timeout=self.deadline_s
            )
            employees.extend(page.employees)
            token = page.next_page_token
            if not token:
                break
        names = await self._all_department_names() if employees else {}
        return [cache_row(e, names.get(e.department_id), now) for e in employees]

    async def _department_names(self, ids: set[str]) -> dict[str, str]:
        names: dict[str, str] = {}
        for chunk in _chunks(sorted(ids), BATCH_LIMIT):
            response = await self.stub.BatchGetDepartments(
                api.BatchGetDepartmentsRequest(ids=chunk), timeout=self.deadline_s
            )
            names.update({d.id: d.name for d in response.departments})
        return names

    async def _all_department_names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        token = ""
        while True:
            page = await self.stub.ListDepartments(
                api.ListDepartmentsRequest(page_size=PAGE_SIZE, page_token=token), timeout=self.deadline_s
            )
            names.update({d.id: d.name for d in page.departments})
            token = page.next_page_token
            if not token:
                return names
