"""Builders, SQL probes and event publishing for the payroll tests.

The database is shared by the whole session: every test works in its own department (a unique
name) so RunPayroll only sees its own cached employees.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import grpc
import pytest
from erp.payroll.v1 import payroll_pb2 as pb
from erp.payroll.v1 import payroll_service_pb2 as api
from erp.payroll.v1 import payroll_service_pb2_grpc as api_grpc
from google.protobuf.message import Message
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal
from nats.aio.client import Client

from services.runtime.context import CallContext
from services.runtime.events import build_headers, event_subject
from services.runtime.grpc_errors import field_violations
from services.runtime.service import RunningService
from services.runtime.settings import Settings

Stub = api_grpc.PayrollServiceStub
Code = grpc.StatusCode

STANDARD_RATE_YEARS = range(2020, 2031)
RATES = {
    "federal_rate": "0.1000",
    "state_rate": "0.0500",
    "social_security_rate": "0.0620",
    "medicare_rate": "0.0145",
}

CREATOR_ID = str(uuid.uuid4())
APPROVER_ID = str(uuid.uuid4())
AS_CREATOR = (("x-erp-user-id", CREATOR_ID),)
AS_APPROVER = (("x-erp-user-id", APPROVER_ID),)

# Tables a command may write; "nothing written" compares their row counts.
WRITE_TABLES = ("payroll_records", "payroll_runs", "tax_rates", "employee_cache", "event_store", "outbox")


def tag() -> str:
    return uuid.uuid4().hex[:10]


def dec(value: str) -> PbDecimal:
    return PbDecimal(value=value)


def day(year: int, month: int, d: int) -> Date:
    return Date(year=year, month=month, day=d)


def as_date(value: Date) -> date:
    return date(value.year, value.month, value.day)


async def create_tax_rate(stub: Stub, year: int, start: Date, end: Date | None = None, **rates: str) -> pb.TaxRate:
    values = {**RATES, **rates}
    request = api.CreateTaxRateRequest(
        year=year,
        effective_from=start,
        **{k: dec(v) for k, v in values.items()},
        **({"effective_to": end} if end else {}),
    )
    return (await stub.CreateTaxRate(request)).tax_rate


async def run_payroll(
    stub: Stub, start: Date, end: Date, department: str, metadata: Any = AS_CREATOR
) -> api.RunPayrollResponse:
    request = api.RunPayrollRequest(pay_period_start=start, pay_period_end=end, department=department)
    return await stub.RunPayroll(request, metadata=metadata)


async def records_of(stub: Stub, run_id: str) -> list[pb.PayrollRecord]:
    out: list[pb.PayrollRecord] = []
    token = ""
    while True:
        page = await stub.ListPayrollRecords(
            api.ListPayrollRecordsRequest(payroll_run_id=run_id, page_size=1000, page_token=token)
        )
        out.extend(page.payroll_records)
        token = page.next_page_token
        if not token:
            return out


@dataclass
class SagaPayroll:
    """A second payroll instance (same database) on a private NATS subject root: its
    PayrollProcessed events reach no accounting service, so only the tests answer them."""

    service: RunningService
    settings: Settings
    stub: api_grpc.PayrollServiceStub


# ---- the employee cache ------------------------------------------------------------------------


async def cache_employee(
    db: asyncpg.Connection,
    department: str | None,
    *,
    salary: str = "60000.00",
    hire_date: date = date(2020, 1, 1),
    termination_date: date | None = None,
    status: str = "active",
    first_name: str = "Grace",
    last_name: str | None = None,
    version: int = 1,
    employee_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Put one employee straight into employee_cache (as if its events had arrived)."""
    key = employee_id or uuid.uuid4()
    await db.execute(
        "INSERT INTO employee_cache (employee_id, first_name, last_name, email, salary, department, status, "
        "hire_date, termination_date, employee_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        key,
        first_name,
        last_name or f"Hopper{tag()}",
        f"{tag()}@example.com",
        Decimal(salary),
        department,
        status,
        hire_date,
        termination_date,
        version,
    )
    return key


async def cache_row(db: asyncpg.Connection, employee_id: str | uuid.UUID) -> dict[str, Any] | None:
    row = await db.fetchrow("SELECT * FROM employee_cache WHERE employee_id = $1", uuid.UUID(str(employee_id)))
    return dict(row) if row else None


# ---- errors and "nothing written" --------------------------------------------------------------


async def rpc_error(call: Awaitable[Any], code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    err = info.value
    assert err.code() == code, f"expected {code}, got {err.code()}: {err.details()}"
    return err


def violation_fields(err: grpc.aio.AioRpcError) -> list[str]:
    return [f for f, _ in field_violations(err)]


async def counts(db: asyncpg.Connection) -> dict[str, int]:
    sql = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in WRITE_TABLES)
    return dict(await db.fetchrow(sql))


@asynccontextmanager
async def nothing_written(db: asyncpg.Connection) -> AsyncIterator[None]:
    before = await counts(db)
    yield
    assert await counts(db) == before


async def rejected(
    db: asyncpg.Connection, call: Callable[[], Awaitable[Any]], code: grpc.StatusCode, *, fields: tuple[str, ...] = ()
) -> grpc.aio.AioRpcError:
    """`call()` fails with `code`, names `fields` as violations, and writes nothing."""
    async with nothing_written(db):
        err = await rpc_error(call(), code)
    for name in fields:
        assert name in violation_fields(err), (name, field_violations(err))
    return err


# ---- events ------------------------------------------------------------------------------------


async def publish(
    nats: Client, settings: Settings, message: Message, aggregate_id: str, event_id: uuid.UUID | None = None
) -> uuid.UUID:
    """Publish a synthetic event the way a service's relay would (protobuf body, CloudEvents headers)."""
    event_id = event_id or uuid.uuid4()
    event_type = message.DESCRIPTOR.full_name
    headers = build_headers(
        event_id=event_id,
        event_type=event_type,
        aggregate_id=aggregate_id,
        ctx=CallContext(correlation_id=uuid.uuid4()),
        occurred_at=datetime.now(UTC),
    )
    await nats.jetstream().publish(
        event_subject(settings.subject_root, event_type), message.SerializeToString(), headers=headers
    )
    return event_id


async def processed_result(db: asyncpg.Connection, event_id: uuid.UUID) -> Any:
    """The handler's result once the event was applied (None until then)."""
    row = await db.fetchrow("SELECT result::text AS result FROM processed_events WHERE event_id = $1", event_id)
    return row["result"] or "{}" if row else None


async def outbox_events(db: asyncpg.Connection, event_type: str, aggregate_ids: list[str]) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT event_id, aggregate_id, payload, headers::text AS headers FROM outbox "
        "WHERE event_type = $1 AND aggregate_id = ANY($2::text[]) ORDER BY id",
        event_type,
        aggregate_ids,
    )
    return [dict(r) for r in rows]
