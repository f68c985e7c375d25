"""Rows to protobuf messages and events for the employee service."""

from __future__ import annotations

import json

from erp.employee.v1 import employee_pb2 as pb
from erp.employee.v1 import events_pb2 as ev

from services.employee.pii import ENCRYPTED_COLUMNS, EmployeeSecrets
from services.employee.tables import Department, Employee, EmployeeHistory
from services.runtime.convert import date_to_pb, decimal_to_pb, str_or_empty, timestamp_to_pb

STATUS_TO_PB = {
    "active": pb.EMPLOYEE_STATUS_ACTIVE,
    "on_leave": pb.EMPLOYEE_STATUS_ON_LEAVE,
    "terminated": pb.EMPLOYEE_STATUS_TERMINATED,
}
STATUS_FROM_PB = {v: k for k, v in STATUS_TO_PB.items()}


def employee_to_pb(row: Employee, secrets: EmployeeSecrets, *, sensitive: bool = False) -> pb.Employee:
    """The resource; its sensitive fields in full only for the sensitive view, else masked (`****6789`).

    A value that cannot be decrypted fails the sensitive view (DecryptionError: INTERNAL, logged by
    reference, no value in it) and shows as `****` in the basic view."""
    msg = pb.Employee(
        id=str(row.id),
        first_name=row.first_name,
        last_name=row.last_name,
        email=row.email,
        phone_number=row.phone_number or "",
        job_title=row.job_title,
        salary=decimal_to_pb(row.salary),
        hire_date=date_to_pb(row.hire_date),
        termination_date=date_to_pb(row.termination_date),
        status=STATUS_TO_PB[row.status],
        department_id=str_or_empty(row.department_id),
        create_time=timestamp_to_pb(row.created_at),
        update_time=timestamp_to_pb(row.updated_at),
        version=row.version,
    )
    for column in ENCRYPTED_COLUMNS:
        value = secrets.reveal(row, column) if sensitive else secrets.masked(row, column)
        setattr(msg, column, value or "")
    return msg


def department_to_pb(row: Department) -> pb.Department:
    return pb.Department(
        id=str(row.id),
        name=row.name,
        code=row.code,
        manager_id=str_or_empty(row.manager_id),
        budget_code=row.budget_code or "",
        create_time=timestamp_to_pb(row.created_at),
        update_time=timestamp_to_pb(row.updated_at),
    )


def history_to_pb(row: EmployeeHistory) -> pb.EmployeeHistoryEntry:
    return pb.EmployeeHistoryEntry(
        id=str(row.id),
        employee_id=str(row.employee_id),
        change_type=row.change_type,
        changed_fields_json=json.dumps(row.changed_fields or {}, sort_keys=True),
        changed_by=str_or_empty(row.changed_by),
        changed_at=timestamp_to_pb(row.changed_at),
    )


def employee_created(row: Employee, department_name: str) -> ev.EmployeeCreated:
    return ev.EmployeeCreated(
        employee_id=str(row.id),
        first_name=row.first_name,
        last_name=row.last_name,
        email=row.email,
        job_title=row.job_title,
        salary=decimal_to_pb(row.salary),
        hire_date=date_to_pb(row.hire_date),
        status=STATUS_TO_PB[row.status],
        department_id=str_or_empty(row.department_id),
        department_name=department_name,
        version=row.version,
    )


def employee_updated(row: Employee, changed: list[str], department_name: str | None) -> ev.EmployeeUpdated:
    """Only the changed non-sensitive values; sensitive fields are named, never sent."""
    msg = ev.EmployeeUpdated(employee_id=str(row.id), changed_fields=sorted(changed), version=row.version)
    for name in ("first_name", "last_name", "email", "job_title", "phone_number"):
        if name in changed:
            setattr(msg, name, getattr(row, name) or "")
    if "salary" in changed:
        msg.salary.CopyFrom(decimal_to_pb(row.salary))
    if "hire_date" in changed:
        msg.hire_date.CopyFrom(date_to_pb(row.hire_date))
    if "status" in changed:
        msg.status = STATUS_TO_PB[row.status]
    if "department_id" in changed:
        msg.department_id = str_or_empty(row.department_id)
        msg.department_name = department_name or ""
    return msg


def department_created(row: Department) -> ev.DepartmentCreated:
    return ev.DepartmentCreated(
        department_id=str(row.id),
        name=row.name,
        code=row.code,
        manager_id=str_or_empty(row.manager_id),
        budget_code=row.budget_code or "",
    )


def department_updated(row: Department, changed: list[str]) -> ev.DepartmentUpdated:
    msg = ev.DepartmentUpdated(department_id=str(row.id), changed_fields=sorted(changed))
    for name in changed:
        value = getattr(row, name)
        setattr(msg, name, str_or_empty(value))
    return msg
