"""Builders and SQL probes for the employee service tests.

Every builder makes unique values (uuid suffix): the database is shared by the whole session.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import grpc
import pytest
from erp.employee.v1 import employee_pb2 as pb
from erp.employee.v1 import employee_service_pb2 as api
from erp.employee.v1 import employee_service_pb2_grpc as api_grpc
from erp.employee.v1 import events_pb2 as ev
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal

from services.runtime.grpc_errors import field_violations

SSN = "123-45-6789"
IBAN = "DE89370400440532013000"

Stub = api_grpc.EmployeeServiceStub

# Tables a command may write; "nothing written" compares their row counts.
WRITE_TABLES = ("employees", "departments", "employee_history", "event_store", "outbox")


def tag() -> str:
    return uuid.uuid4().hex[:10]


def email(prefix: str = "emp") -> str:
    return f"{prefix}-{tag()}@example.com"


def dec(value: str) -> PbDecimal:
    return PbDecimal(value=value)


def day(year: int, month: int, d: int) -> Date:
    return Date(year=year, month=month, day=d)


def mask(*paths: str) -> FieldMask:
    return FieldMask(paths=list(paths))


# ---- gRPC builders ---------------------------------------------------------------------------


def employee_request(**overrides: Any) -> api.CreateEmployeeRequest:
    values: dict[str, Any] = {
        "first_name": "Ada",
        "last_name": f"Lovelace{tag()}",
        "email": email(),
        "job_title": "Engineer",
        "salary": dec("50000.00"),
        "hire_date": day(2020, 1, 15),
    }
    values.update(overrides)
    return api.CreateEmployeeRequest(**values)


# A fixed caller, so history and events can be checked for who made the change.
USER_ID = str(uuid.uuid4())
CALLER = (("x-erp-user-id", USER_ID),)


async def create_employee(stub: Stub, **overrides: Any) -> pb.Employee:
    return (await stub.CreateEmployee(employee_request(**overrides), metadata=CALLER)).employee


def department_request(**overrides: Any) -> api.CreateDepartmentRequest:
    values: dict[str, Any] = {"name": f"Dept {tag()}", "code": f"D{tag()}", "budget_code": "BC-1"}
    values.update(overrides)
    return api.CreateDepartmentRequest(**values)


async def create_department(stub: Stub, **overrides: Any) -> pb.Department:
    return (await stub.CreateDepartment(department_request(**overrides), metadata=CALLER)).department


async def get_employee(stub: Stub, employee_id: str, *, sensitive: bool = False) -> pb.Employee:
    view = api.EMPLOYEE_VIEW_SENSITIVE if sensitive else api.EMPLOYEE_VIEW_BASIC
    return (await stub.GetEmployee(api.GetEmployeeRequest(id=employee_id, view=view))).employee


async def terminate(stub: Stub, e: pb.Employee, when: Date | None = None) -> pb.Employee:
    req = api.TerminateEmployeeRequest(
        id=e.id, termination_date=when or day(2023, 6, 30), reason="restructuring", version=e.version
    )
    return (await stub.TerminateEmployee(req, metadata=CALLER)).employee


# ---- error assertions ------------------------------------------------------------------------


async def rpc_error(call: Awaitable[Any], code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    err = info.value
    assert err.code() == code, f"expected {code}, got {err.code()}: {err.details()}"
    return err


def violation_fields(err: grpc.aio.AioRpcError) -> list[str]:
    return [f for f, _ in field_violations(err)]


def assert_violation(err: grpc.aio.AioRpcError, name: str) -> None:
    """A BadRequest violation names `name` (bare or as the last part of a request path)."""
    fields = violation_fields(err)
    assert any(f == name or f.endswith("." + name) for f in fields), (name, field_violations(err))


# ---- SQL ---------------------------------------------------------------------------------------


async def counts(db: asyncpg.Connection) -> dict[str, int]:
    sql = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in WRITE_TABLES)
    return dict(await db.fetchrow(sql))


async def employee_row(db: asyncpg.Connection, employee_id: str) -> dict[str, Any] | None:
    row = await db.fetchrow("SELECT * FROM employees WHERE id = $1", uuid.UUID(employee_id))
    return dict(row) if row else None


async def department_row(db: asyncpg.Connection, department_id: str) -> dict[str, Any] | None:
    row = await db.fetchrow("SELECT * FROM departments WHERE id = $1", uuid.UUID(department_id))
    return dict(row) if row else None


async def _snapshot(db: asyncpg.Connection, employees: tuple[str, ...], departments: tuple[str, ...]) -> Any:
    return (
        await counts(db),
        [await employee_row(db, i) for i in employees],
        [await department_row(db, i) for i in departments],
    )


@asynccontextmanager
async def nothing_written(
    db: asyncpg.Connection, *, employees: tuple[str, ...] = (), departments: tuple[str, ...] = ()
) -> AsyncIterator[None]:
    """No row added anywhere, and the named rows are byte-for-byte unchanged."""
    before = await _snapshot(db, employees, departments)
    yield
    after = await _snapshot(db, employees, departments)
    assert after == before


async def rejected(
    db: asyncpg.Connection,
    call: Callable[[], Awaitable[Any]],
    code: grpc.StatusCode,
    *,
    fields: tuple[str, ...] = (),
    employees: tuple[str, ...] = (),
    departments: tuple[str, ...] = (),
) -> grpc.aio.AioRpcError:
    """`call()` fails with `code`, names `fields` as violations, and writes nothing.

    `call` is a factory: a grpc.aio call starts as soon as it is created, so it must be made
    only after the "before" snapshot."""
    async with nothing_written(db, employees=employees, departments=departments):
        err = await rpc_error(call(), code)
    for name in fields:
        assert_violation(err, name)
    return err


async def history_rows(db: asyncpg.Connection, employee_id: str) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT change_type, changed_fields::text AS changed_fields, changed_by FROM employee_history "
        "WHERE employee_id = $1 ORDER BY changed_at, id",
        uuid.UUID(employee_id),
    )
    return [{**dict(r), "changed_fields": json.loads(r["changed_fields"])} for r in rows]


async def event_store_rows(db: asyncpg.Connection, aggregate_id: str) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT id, event_type, aggregate_type, event_version, event_data::text AS event_data, user_id, "
        "correlation_id FROM event_store WHERE aggregate_id = $1 ORDER BY occurred_at, event_version",
        uuid.UUID(aggregate_id),
    )
    return [dict(r) for r in rows]


async def outbox_rows(db: asyncpg.Connection, aggregate_id: str) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT event_id, subject, event_type, payload, headers::text AS headers FROM outbox "
        "WHERE aggregate_id = $1 ORDER BY id",
        aggregate_id,
    )
    return [dict(r) for r in rows]


def decode_event(event_type: str, payload: bytes) -> Message:
    cls = getattr(ev, event_type.rsplit(".", 1)[1])
    msg = cls()
    msg.ParseFromString(payload)
    return msg


@dataclass
class RecordedEvent:
    event_type: str = ""
    message: Any = None
    store: dict[str, Any] = field(default_factory=dict)
    outbox: dict[str, Any] = field(default_factory=dict)


@asynccontextmanager
async def records_one_event(
    db: asyncpg.Connection, aggregate_id: str | None, event_type: str
) -> AsyncIterator[RecordedEvent]:
    """The block writes exactly one event_store row and one outbox row (same event), of
    `event_type`, for `aggregate_id` (None: the aggregate is created in the block; the new
    event's aggregate is then whatever it names)."""
    before = await counts(db)
    known = {r["event_id"] for r in await db.fetch("SELECT event_id FROM outbox ORDER BY id DESC LIMIT 200")}
    recorded = RecordedEvent()
    yield recorded
    after = await counts(db)
    assert after["event_store"] - before["event_store"] == 1
    assert after["outbox"] - before["outbox"] == 1
    out = await db.fetchrow(
        "SELECT event_id, subject, event_type, aggregate_id, payload, headers::text AS headers "
        "FROM outbox ORDER BY id DESC LIMIT 1"
    )
    assert out["event_id"] not in known
    store = await db.fetchrow(
        "SELECT id, event_type, aggregate_id, aggregate_type, event_version, event_data::text AS event_data, "
        "user_id, correlation_id FROM event_store WHERE id = $1",
        out["event_id"],
    )
    assert store is not None, "the outbox row has no event_store twin"
    assert out["event_type"] == store["event_type"] == event_type
    if aggregate_id is not None:
        assert out["aggregate_id"] == str(store["aggregate_id"]) == aggregate_id
    recorded.event_type = event_type
    recorded.store = dict(store)
    recorded.outbox = dict(out)
    recorded.message = decode_event(event_type, out["payload"])
