"""What payroll does on other services' events: keep the employee cache, follow the saga.

Each handler runs in the consumer's unit of work (its effects and the processed_events row
commit together) and returns a small result that is stored with the processed event.
"""

from __future__ import annotations

import uuid
from typing import Any

from erp.employee.v1 import events_pb2 as emp_ev

from services.payroll import cache, saga
from services.payroll.directory import EMPLOYEE_STATUS, EmployeeDirectory
from services.runtime.consumer import Handler
from services.runtime.convert import date_from_pb, decimal_from_pb
from services.runtime.db import UnitOfWork
from services.runtime.events import ReceivedEvent
from services.runtime.service import ServiceDeps


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def created_row(msg: emp_ev.EmployeeCreated, now: Any) -> dict[str, Any]:
    return {
        "employee_id": uuid.UUID(msg.employee_id),
        "first_name": msg.first_name,
        "last_name": msg.last_name,
        "email": msg.email or None,
        "salary": decimal_from_pb(msg.salary, "salary"),
        "department": msg.department_name or None,
        "department_id": _uuid(msg.department_id),
        "status": EMPLOYEE_STATUS[msg.status],
        "hire_date": date_from_pb(msg.hire_date, "hire_date"),
        "termination_date": None,
        "employee_version": msg.version,
        "last_synced_at": now,
    }


def updated_values(msg: emp_ev.EmployeeUpdated) -> dict[str, Any]:
    """The cached columns an EmployeeUpdated changes (other changed fields only bump the version)."""
    changed = set(msg.changed_fields)
    values: dict[str, Any] = {}
    for name in ("first_name", "last_name", "email"):
        if name in changed:
            values[name] = getattr(msg, name) or None
    if "salary" in changed:
        values["salary"] = decimal_from_pb(msg.salary, "salary")
    if "hire_date" in changed:
        values["hire_date"] = date_from_pb(msg.hire_date, "hire_date")
    if "status" in changed:
        values["status"] = EMPLOYEE_STATUS[msg.status]
    if "department_id" in changed:
        values["department_id"] = _uuid(msg.department_id)
        values["department"] = msg.department_name or None
    return values


def employee_handlers(deps: ServiceDeps) -> dict[str, Handler]:
    def directory() -> EmployeeDirectory:
        return EmployeeDirectory(deps.channel("employee"), deps.settings.rpc_deadline_s)

    async def partial(uow: UnitOfWork, employee_id: str, version: int, values: dict[str, Any]) -> dict[str, Any]:
        key = _uuid(employee_id)
        if key is None:
            return {"ignored": "employee_id is not a UUID"}
        outcome = await cache.apply_partial(uow.session, directory(), key, version, values, deps.clock.now())
        return {"cache": outcome, "version": version}

    async def on_created(uow: UnitOfWork, event: ReceivedEvent) -> dict[str, Any]:
        msg = event.message
        assert isinstance(msg, emp_ev.EmployeeCreated)
        if _uuid(msg.employee_id) is None:
            return {"ignored": "employee_id is not a UUID"}
        outcome = await cache.apply_full(uow.session, created_row(msg, deps.clock.now()))
        return {"cache": outcome, "version": msg.version}

    async def on_updated(uow: UnitOfWork, event: ReceivedEvent) -> dict[str, Any]:
        msg = event.message
        assert isinstance(msg, emp_ev.EmployeeUpdated)
        return await partial(uow, msg.employee_id, msg.version, updated_values(msg))

    async def on_terminated(uow: UnitOfWork, event: ReceivedEvent) -> dict[str, Any]:
        msg = event.message
        assert isinstance(msg, emp_ev.EmployeeTerminated)
        values = {"status": "terminated", "termination_date": date_from_pb(msg.termination_date, "termination_date")}
        return await partial(uow, msg.employee_id, msg.version, values)

    async def on_rehired(uow: UnitOfWork, event: ReceivedEvent) -> dict[str, Any]:
        msg = event.message
        assert isinstance(msg, emp_ev.EmployeeRehired)
        values = {
            "status": "active",
            "hire_date": date_from_pb(msg.hire_date, "hire_date"),
            "termination_date": None,
            "salary": decimal_from_pb(msg.salary, "salary"),
            "department_id": _uuid(msg.department_id),
            "department": msg.department_name or None,
        }
        return await partial(uow, msg.employee_id, msg.version, values)

    async def on_department_updated(uow: UnitOfWork, event: ReceivedEvent) -> dict[str, Any]:
        msg = event.message
        assert isinstance(msg, emp_ev.DepartmentUpdated)
        key = _uuid(msg.department_id)
        if key is None or not msg.HasField("name"):
            return {"ignored": "no department name change"}
        renamed = await cache.rename_department(uow.session, key, msg.name, deps.clock.now())
        return {"renamed": renamed}

    return {
        "erp.employee.v1.EmployeeCreated": on_created,
        "erp.employee.v1.EmployeeUpdated": on_updated,
        "erp.employee.v1.EmployeeTerminated": on_terminated,
        "erp.employee.v1.EmployeeRehired": on_rehired,
        "erp.employee.v1.DepartmentUpdated": on_department_updated,
    }


def handlers(deps: ServiceDeps) -> dict[str, Handler]:
    return {**employee_handlers(deps), **saga.handlers(deps)}
