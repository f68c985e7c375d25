"""The EmployeeService gRPC API: request in, rules in a unit of work, response out."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
from erp.employee.v1 import employee_service_pb2 as api
from erp.employee.v1 import employee_service_pb2_grpc as api_grpc
from erp.employee.v1 import events_pb2 as ev
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from services.employee import domain, mapping
from services.employee.pii import ENCRYPTED_COLUMNS, EmployeeSecrets
from services.employee.tables import Department, Employee, EmployeeHistory
from services.runtime import context
from services.runtime.convert import (
    date_from_pb,
    date_to_pb,
    decimal_to_pb,
    money_from_pb,
    str_or_empty,
    uuid_from_str,
    uuids_from_strs,
)
from services.runtime.crypto import load_keyring
from services.runtime.db import UnitOfWork, translate_integrity_error
from services.runtime.errors import AlreadyExists, FailedPrecondition, InvalidArgument, Validator
from services.runtime.repository import batch_get, get_or_404, get_versioned_for_update, list_page
from services.runtime.service import ServiceDeps

UNIQUE_MESSAGES = {
    "uq_employees_email": "an employee with this e-mail already exists",
    "uq_departments_code": "a department with this code already exists",
}
SENSITIVE_VIEW = api.EMPLOYEE_VIEW_SENSITIVE


class EmployeeApi(api_grpc.EmployeeServiceServicer):
    def __init__(self, deps: ServiceDeps) -> None:
        self.db = deps.db
        self.clock = deps.clock
        # Keys from settings; a missing key in production fails the service's start (PiiKeyError).
        self.secrets = EmployeeSecrets(load_keyring(deps.settings))

    # ---- reads -------------------------------------------------------------------------

    async def GetEmployee(self, request: api.GetEmployeeRequest, context_: Any) -> api.GetEmployeeResponse:
        key = uuid_from_str(request.id, "id")
        assert key is not None
        async with self.db.read() as s:
            row = await get_or_404(s, Employee, key, "employee")
        return api.GetEmployeeResponse(
            employee=mapping.employee_to_pb(row, self.secrets, sensitive=request.view == SENSITIVE_VIEW)
        )

    async def BatchGetEmployees(
        self, request: api.BatchGetEmployeesRequest, context_: Any
    ) -> api.BatchGetEmployeesResponse:
        keys = uuids_from_strs(list(request.ids), "ids")
        async with self.db.read() as s:
            rows = await batch_get(s, Employee, keys)
        sensitive = request.view == SENSITIVE_VIEW
        return api.BatchGetEmployeesResponse(
            employees=[mapping.employee_to_pb(r, self.secrets, sensitive=sensitive) for r in rows]
        )

    async def ListEmployees(self, request: api.ListEmployeesRequest, context_: Any) -> api.ListEmployeesResponse:
        stmt = select(Employee)
        departments = uuids_from_strs(list(request.department_ids), "department_ids")
        if departments:
            stmt = stmt.where(Employee.department_id.in_(departments))
        if request.statuses:
            unknown = [s for s in request.statuses if s not in mapping.STATUS_FROM_PB]
            if unknown:
                raise InvalidArgument.field("statuses", "contains an unknown status")
            stmt = stmt.where(Employee.status.in_([mapping.STATUS_FROM_PB[s] for s in request.statuses]))
        if request.query:
            needle = request.query.strip().lower()
            stmt = stmt.where(
                or_(
                    func.lower(Employee.first_name + " " + Employee.last_name).contains(needle, autoescape=True),
                    Employee.email.contains(needle, autoescape=True),
                )
            )
        filters = (sorted(map(str, departments)), sorted(request.statuses), request.query)
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [Employee.last_name, Employee.first_name, Employee.id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=filters,
            )
        return api.ListEmployeesResponse(
            employees=[mapping.employee_to_pb(r, self.secrets) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def ListEmployeeHistory(
        self, request: api.ListEmployeeHistoryRequest, context_: Any
    ) -> api.ListEmployeeHistoryResponse:
        key = uuid_from_str(request.employee_id, "employee_id")
        assert key is not None
        async with self.db.read() as s:
            await get_or_404(s, Employee, key, "employee")
            page = await list_page(
                s,
                select(EmployeeHistory).where(EmployeeHistory.employee_id == key),
                [EmployeeHistory.changed_at, EmployeeHistory.id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=str(key),
                descending=True,
            )
        return api.ListEmployeeHistoryResponse(
            entries=[mapping.history_to_pb(r) for r in page.items], next_page_token=page.next_page_token
        )

    async def GetDepartment(self, request: api.GetDepartmentRequest, context_: Any) -> api.GetDepartmentResponse:
        key = uuid_from_str(request.id, "id")
        assert key is not None
        async with self.db.read() as s:
            row = await get_or_404(s, Department, key, "department")
        return api.GetDepartmentResponse(department=mapping.department_to_pb(row))

    async def BatchGetDepartments(
        self, request: api.BatchGetDepartmentsRequest, context_: Any
    ) -> api.BatchGetDepartmentsResponse:
        keys = uuids_from_strs(list(request.ids), "ids")
        async with self.db.read() as s:
            rows = await batch_get(s, Department, keys)
        return api.BatchGetDepartmentsResponse(departments=[mapping.department_to_pb(r) for r in rows])

    async def ListDepartments(self, request: api.ListDepartmentsRequest, context_: Any) -> api.ListDepartmentsResponse:
        stmt = select(Department)
        managers = uuids_from_strs(list(request.manager_ids), "manager_ids")
        if managers:
            stmt = stmt.where(Department.manager_id.in_(managers))
        if request.names:
            stmt = stmt.where(Department.name.in_(list(request.names)))
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [Department.code, Department.id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=(sorted(map(str, managers)), sorted(request.names)),
            )
        return api.ListDepartmentsResponse(
            departments=[mapping.department_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    # ---- employee commands ---------------------------------------------------------------

    async def CreateEmployee(self, request: api.CreateEmployeeRequest, context_: Any) -> api.CreateEmployeeResponse:
        v = Validator()
        values: dict[str, Any] = {
            "first_name": request.first_name.strip(),
            "last_name": request.last_name.strip(),
            "email": domain.normalize_email(request.email),
            "phone_number": request.phone_number or None,
            "job_title": request.job_title.strip(),
            "salary": v.collect(lambda: money_from_pb(request.salary, "salary")),
            "hire_date": v.collect(lambda: date_from_pb(request.hire_date, "hire_date")),
            "department_id": v.collect(lambda: uuid_from_str(request.department_id, "department_id", required=False)),
            "social_security_number": request.social_security_number or None,
            "bank_account_number": request.bank_account_number or None,
        }
        domain.validate_employee_fields(v, values)
        v.raise_if_any()
        now = self.clock.now()
        try:
            async with self.db.unit_of_work() as uow:
                department = await self._department_or_invalid(uow, values["department_id"])
                await self._ensure_email_free(uow, values["email"], None)
                row_id = uuid.uuid4()
                stored = {**values, **{c: self.secrets.seal(row_id, c, values[c]) for c in ENCRYPTED_COLUMNS}}
                row = Employee(
                    id=row_id, status=domain.Status.ACTIVE, version=1, created_at=now, updated_at=now, **stored
                )
                uow.session.add(row)
                self._audit(uow, row.id, "created", domain.audit_diff({}, values))
                uow.record(
                    mapping.employee_created(row, department.name if department else ""),
                    aggregate_type="Employee",
                    aggregate_id=row.id,
                    version=row.version,
                )
        except IntegrityError as exc:
            raise translate_integrity_error(exc, UNIQUE_MESSAGES) from None
        return api.CreateEmployeeResponse(employee=mapping.employee_to_pb(row, self.secrets))

    async def UpdateEmployee(self, request: api.UpdateEmployeeRequest, context_: Any) -> api.UpdateEmployeeResponse:
        paths = list(request.update_mask.paths)
        if not paths:
            raise InvalidArgument.field("update_mask", "must name at least one field")
        unknown = sorted(set(paths) - domain.UPDATABLE_EMPLOYEE_FIELDS)
        if unknown:
            raise InvalidArgument.field("update_mask", f"cannot update {', '.join(unknown)}")
        key = uuid_from_str(request.employee.id, "employee.id")
        assert key is not None
        e = request.employee
        v = Validator()
        parsers: dict[str, Any] = {
            "first_name": lambda: e.first_name.strip(),
            "last_name": lambda: e.last_name.strip(),
            "email": lambda: domain.normalize_email(e.email),
            "phone_number": lambda: e.phone_number or None,
            "job_title": lambda: e.job_title.strip(),
            "salary": lambda: money_from_pb(e.salary, "employee.salary"),
            "hire_date": lambda: date_from_pb(e.hire_date, "employee.hire_date"),
            "department_id": lambda: uuid_from_str(e.department_id, "employee.department_id", required=False),
            "social_security_number": lambda: e.social_security_number or None,
            "bank_account_number": lambda: e.bank_account_number or None,
        }
        values: dict[str, Any] = {p: v.collect(parsers[p]) for p in paths}
        domain.validate_employee_fields(v, values, prefix="employee.")
        v.raise_if_any()
        try:
            async with self.db.unit_of_work() as uow:
                row = await get_versioned_for_update(uow.session, Employee, key, request.version, "employee")
                domain.ensure_mutable(row.status)
                if "hire_date" in values and row.termination_date and values["hire_date"] > row.termination_date:
                    raise InvalidArgument.field("employee.hire_date", "must be on or before the termination date")
                if "email" in values:
                    await self._ensure_email_free(uow, values["email"], row.id)
                department = None
                if "department_id" in values:
                    department = await self._department_or_invalid(
                        uow, values["department_id"], "employee.department_id"
                    )
                before = {
                    name: self.secrets.current(row, name) if name in ENCRYPTED_COLUMNS else getattr(row, name)
                    for name in values
                }
                changes = domain.audit_diff(before, values)
                if changes:
                    for name in changes:
                        value = values[name]
                        if name in ENCRYPTED_COLUMNS:
                            value = self.secrets.seal(row.id, name, value)
                        setattr(row, name, value)
                    row.version += 1
                    row.updated_at = self.clock.now()
                    self._audit(uow, row.id, "updated", changes)
                    uow.record(
                        mapping.employee_updated(row, list(changes), department.name if department else None),
                        aggregate_type="Employee",
                        aggregate_id=row.id,
                        version=row.version,
                    )
        except IntegrityError as exc:
            raise translate_integrity_error(exc, UNIQUE_MESSAGES) from None
        return api.UpdateEmployeeResponse(employee=mapping.employee_to_pb(row, self.secrets))

    async def TerminateEmployee(
        self, request: api.TerminateEmployeeRequest, context_: Any
    ) -> api.TerminateEmployeeResponse:
        key = uuid_from_str(request.id, "id")
        termination_date = date_from_pb(request.termination_date, "termination_date")
        assert key is not None and termination_date is not None
        async with self.db.unit_of_work() as uow:
            row = await get_versioned_for_update(uow.session, Employee, key, request.version, "employee")
            domain.ensure_can_terminate(row.status, row.hire_date, termination_date)
            old_status = row.status
            row.status = domain.Status.TERMINATED
            row.termination_date = termination_date
            row.version += 1
            row.updated_at = self.clock.now()
            changes = {
                "status": {"old": old_status, "new": row.status.value},
                "termination_date": {"old": None, "new": termination_date.isoformat()},
            }
            if request.reason:
                changes["reason"] = {"old": None, "new": request.reason[:500]}
            self._audit(uow, row.id, "terminated", changes)
            uow.record(
                ev.EmployeeTerminated(
                    employee_id=str(row.id),
                    termination_date=date_to_pb(termination_date),
                    version=row.version,
                ),
                aggregate_type="Employee",
                aggregate_id=row.id,
                version=row.version,
            )
        return api.TerminateEmployeeResponse(employee=mapping.employee_to_pb(row, self.secrets))

    async def RehireEmployee(self, request: api.RehireEmployeeRequest, context_: Any) -> api.RehireEmployeeResponse:
        key = uuid_from_str(request.id, "id")
        v = Validator()
        hire_date = v.collect(lambda: date_from_pb(request.hire_date, "hire_date"))
        salary = v.collect(lambda: money_from_pb(request.salary, "salary", required=False))
        department_id = v.collect(lambda: uuid_from_str(request.department_id, "department_id", required=False))
        if salary is not None:
            domain.validate_employee_fields(v, {"salary": salary})
        v.raise_if_any()
        assert key is not None and hire_date is not None
        async with self.db.unit_of_work() as uow:
            row = await get_versioned_for_update(uow.session, Employee, key, request.version, "employee")
            domain.ensure_can_rehire(row.status, row.termination_date, hire_date)
            new_values: dict[str, Any] = {
                "status": domain.Status.ACTIVE.value,
                "hire_date": hire_date,
                "termination_date": None,
            }
            if salary is not None:
                new_values["salary"] = salary
            if department_id is not None:
                new_values["department_id"] = department_id
            department = await self._department_or_invalid(uow, new_values.get("department_id", row.department_id))
            changes = domain.audit_diff({k: getattr(row, k) for k in new_values}, new_values)
            for name, value in new_values.items():
                setattr(row, name, value)
            row.version += 1
            row.updated_at = self.clock.now()
            self._audit(uow, row.id, "rehired", changes)
            uow.record(
                ev.EmployeeRehired(
                    employee_id=str(row.id),
                    hire_date=date_to_pb(row.hire_date),
                    salary=decimal_to_pb(row.salary),
                    department_id=str_or_empty(row.department_id),
                    department_name=department.name if department else "",
                    version=row.version,
                ),
                aggregate_type="Employee",
                aggregate_id=row.id,
                version=row.version,
            )
        return api.RehireEmployeeResponse(employee=mapping.employee_to_pb(row, self.secrets))

    async def StartLeave(self, request: api.StartLeaveRequest, context_: Any) -> api.StartLeaveResponse:
        row = await self._change_status(
            request.id, request.version, domain.ensure_can_start_leave, domain.Status.ON_LEAVE
        )
        return api.StartLeaveResponse(employee=mapping.employee_to_pb(row, self.secrets))

    async def EndLeave(self, request: api.EndLeaveRequest, context_: Any) -> api.EndLeaveResponse:
        row = await self._change_status(request.id, request.version, domain.ensure_can_end_leave, domain.Status.ACTIVE)
        return api.EndLeaveResponse(employee=mapping.employee_to_pb(row, self.secrets))

    # ---- department commands -------------------------------------------------------------

    async def CreateDepartment(
        self, request: api.CreateDepartmentRequest, context_: Any
    ) -> api.CreateDepartmentResponse:
        v = Validator()
        v.require(request.name.strip(), "name")
        v.max_len(request.name, "name", 100)
        v.require(request.code.strip(), "code")
        v.max_len(request.code, "code", 20)
        v.max_len(request.budget_code, "budget_code", 50)
        manager_id = v.collect(lambda: uuid_from_str(request.manager_id, "manager_id", required=False))
        v.raise_if_any()
        now = self.clock.now()
        try:
            async with self.db.unit_of_work() as uow:
                await self._ensure_manager(uow, manager_id)
                await self._ensure_code_free(uow, request.code.strip(), None)
                row = Department(
                    id=uuid.uuid4(),
                    name=request.name.strip(),
                    code=request.code.strip(),
                    manager_id=manager_id,
                    budget_code=request.budget_code or None,
                    created_at=now,
                    updated_at=now,
                )
                uow.session.add(row)
                uow.record(mapping.department_created(row), aggregate_type="Department", aggregate_id=row.id)
        except IntegrityError as exc:
            raise translate_integrity_error(exc, UNIQUE_MESSAGES) from None
        return api.CreateDepartmentResponse(department=mapping.department_to_pb(row))

    async def UpdateDepartment(
        self, request: api.UpdateDepartmentRequest, context_: Any
    ) -> api.UpdateDepartmentResponse:
        paths = list(request.update_mask.paths)
        if not paths:
            raise InvalidArgument.field("update_mask", "must name at least one field")
        unknown = sorted(set(paths) - domain.UPDATABLE_DEPARTMENT_FIELDS)
        if unknown:
            raise InvalidArgument.field("update_mask", f"cannot update {', '.join(unknown)}")
        d = request.department
        key = uuid_from_str(d.id, "department.id")
        assert key is not None
        v = Validator()
        values: dict[str, Any] = {}
        if "name" in paths:
            values["name"] = d.name.strip()
            v.require(values["name"], "department.name")
            v.max_len(values["name"], "department.name", 100)
        if "code" in paths:
            values["code"] = d.code.strip()
            v.require(values["code"], "department.code")
            v.max_len(values["code"], "department.code", 20)
        if "budget_code" in paths:
            values["budget_code"] = d.budget_code or None
            v.max_len(d.budget_code, "department.budget_code", 50)
        if "manager_id" in paths:
            values["manager_id"] = v.collect(
                lambda: uuid_from_str(d.manager_id, "department.manager_id", required=False)
            )
        v.raise_if_any()
        try:
            async with self.db.unit_of_work() as uow:
                row = await get_or_404(uow.session, Department, key, "department", lock=True)
                if "manager_id" in values:
                    await self._ensure_manager(uow, values["manager_id"], "department.manager_id")
                if "code" in values:
                    await self._ensure_code_free(uow, values["code"], row.id)
                changed = [k for k, val in values.items() if getattr(row, k) != val]
                if changed:
                    for name in changed:
                        setattr(row, name, values[name])
                    row.updated_at = self.clock.now()
                    uow.record(
                        mapping.department_updated(row, changed), aggregate_type="Department", aggregate_id=row.id
                    )
        except IntegrityError as exc:
            raise translate_integrity_error(exc, UNIQUE_MESSAGES) from None
        return api.UpdateDepartmentResponse(department=mapping.department_to_pb(row))

    # ---- helpers -------------------------------------------------------------------------

    async def _change_status(self, raw_id: str, version: int, check: Any, new_status: domain.Status) -> Employee:
        key = uuid_from_str(raw_id, "id")
        assert key is not None
        async with self.db.unit_of_work() as uow:
            row = await get_versioned_for_update(uow.session, Employee, key, version, "employee")
            check(row.status)
            changes = {"status": {"old": row.status, "new": new_status.value}}
            row.status = new_status
            row.version += 1
            row.updated_at = self.clock.now()
            self._audit(uow, row.id, "updated", changes)
            uow.record(
                mapping.employee_updated(row, ["status"], None),
                aggregate_type="Employee",
                aggregate_id=row.id,
                version=row.version,
            )
        return row

    def _audit(self, uow: UnitOfWork, employee_id: uuid.UUID, change_type: str, changes: dict[str, Any]) -> None:
        uow.session.add(
            EmployeeHistory(
                id=uuid.uuid4(),
                employee_id=employee_id,
                change_type=change_type,
                changed_fields=changes,
                changed_by=context.caller_id(),
                changed_at=self.clock.now(),
            )
        )

    async def _department_or_invalid(
        self, uow: UnitOfWork, department_id: uuid.UUID | None, field: str = "department_id"
    ) -> Department | None:
        if department_id is None:
            return None
        row = await uow.session.get(Department, department_id)
        if row is None:
            raise InvalidArgument.field(field, "does not name an existing department")
        return row

    async def _ensure_email_free(self, uow: UnitOfWork, email: str, own_id: uuid.UUID | None) -> None:
        stmt = select(Employee.id).where(Employee.email == email)
        if own_id is not None:
            stmt = stmt.where(Employee.id != own_id)
        if (await uow.session.execute(stmt)).first() is not None:
            raise AlreadyExists(UNIQUE_MESSAGES["uq_employees_email"])

    async def _ensure_code_free(self, uow: UnitOfWork, code: str, own_id: uuid.UUID | None) -> None:
        stmt = select(Department.id).where(Department.code == code)
        if own_id is not None:
            stmt = stmt.where(Department.id != own_id)
        if (await uow.session.execute(stmt)).first() is not None:
            raise AlreadyExists(UNIQUE_MESSAGES["uq_departments_code"])

    async def _ensure_manager(self, uow: UnitOfWork, manager_id: uuid.UUID | None, field: str = "manager_id") -> None:
        if manager_id is None:
            return
        manager = await uow.session.get(Employee, manager_id)
        if manager is None:
            raise InvalidArgument.field(field, "does not name an existing employee")
        if manager.status == domain.Status.TERMINATED:
            raise FailedPrecondition("a terminated employee cannot manage a department")


def register(deps: ServiceDeps, server: grpc.aio.Server) -> None:
    api_grpc.add_EmployeeServiceServicer_to_server(EmployeeApi(deps), server)
