"""Builders, publishers and probes for the finance tests.

finance_db is shared by the package, so tests isolate themselves with fresh department names
(`tag`), fresh account codes for cache checks and fiscal years no other test uses."""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import grpc
import pytest
from erp.accounting.v1 import accounting_pb2 as acc_pb
from erp.accounting.v1 import events_pb2 as acc_ev
from erp.employee.v1 import employee_service_pb2 as emp
from erp.employee.v1 import employee_service_pb2_grpc as emp_grpc
from erp.finance.v1 import events_pb2 as ev
from erp.finance.v1 import finance_pb2 as pb
from erp.finance.v1 import finance_service_pb2 as api
from erp.finance.v1 import finance_service_pb2_grpc as api_grpc
from google.protobuf.message import Message
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal
from nats.aio.client import Client

from services.runtime.context import CallContext
from services.runtime.events import build_headers, event_subject
from services.runtime.grpc_errors import field_violations
from services.runtime.settings import Settings

Stub = api_grpc.FinanceServiceStub
Code = grpc.StatusCode
TYPES = {
    "asset": acc_pb.ACCOUNT_TYPE_ASSET,
    "liability": acc_pb.ACCOUNT_TYPE_LIABILITY,
    "equity": acc_pb.ACCOUNT_TYPE_EQUITY,
    "revenue": acc_pb.ACCOUNT_TYPE_REVENUE,
    "expense": acc_pb.ACCOUNT_TYPE_EXPENSE,
}
ACCOUNT_TYPES = {
    "1010": "asset",
    "1200": "asset",
    "1300": "asset",
    "2010": "liability",
    "2050": "liability",
    "2100": "liability",
    "2200": "liability",
    "3100": "equity",
    "4100": "revenue",
    "5100": "expense",
    "5200": "expense",
    "5300": "expense",
    "5400": "expense",
}


def tag() -> str:
    return uuid.uuid4().hex[:8]


def dec(value: str) -> PbDecimal:
    return PbDecimal(value=value)


def D(value: PbDecimal | str) -> Decimal:
    return Decimal(value if isinstance(value, str) else value.value)


def day(year: int, month: int, d: int) -> Date:
    return Date(year=year, month=month, day=d)


def pb_date(value: date) -> Date:
    return Date(year=value.year, month=value.month, day=value.day)


async def new_department(employees: emp_grpc.EmployeeServiceStub) -> str:
    name = f"Dept {tag()}"
    await employees.CreateDepartment(emp.CreateDepartmentRequest(name=name, code=f"F{tag()}"))
    return name


def allocate_request(department: str, year: int, **fields: Any) -> api.AllocateBudgetRequest:
    values: dict[str, Any] = {
        "department": department,
        "fiscal_year": year,
        "quarter": 0,
        "category": "Salaries",
        "allocated_amount": dec("1000.00"),
        "start_date": day(year, 1, 1),
        "end_date": day(year, 12, 31),
    }
    values.update(fields)
    return api.AllocateBudgetRequest(**values)


async def allocate(stub: Stub, department: str, year: int, **fields: Any) -> pb.Budget:
    return (await stub.AllocateBudget(allocate_request(department, year, **fields))).budget


async def get_budget(stub: Stub, budget_id: str) -> pb.Budget:
    return (await stub.GetBudget(api.GetBudgetRequest(id=budget_id))).budget


async def rpc_error(call: Awaitable[Any], code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    err = info.value
    assert err.code() == code, f"expected {code}, got {err.code()}: {err.details()}"
    return err


def violation_fields(err: grpc.aio.AioRpcError) -> list[str]:
    return [f for f, _ in field_violations(err)]


# ---- accounting events ---------------------------------------------------------------------------

Line = tuple[str, str, str]  # account code, debit, credit
FAKE_TYPES = {"A": "asset", "L": "liability", "X": "expense"}


def account_type_of(code: str) -> str:
    """The chart's codes, or a test's own codes: 9A... asset, 9L... liability, 9X... expense."""
    return ACCOUNT_TYPES.get(code) or FAKE_TYPES[code[1]]


def fake_code(kind: str) -> str:
    return f"9{kind}{tag()}"


def posted_lines(lines: list[Line]) -> list[acc_ev.PostedJournalLine]:
    return [
        acc_ev.PostedJournalLine(
            line_number=i,
            account_code=code,
            account_type=TYPES[account_type_of(code)],
            debit_amount=dec(debit),
            credit_amount=dec(credit),
            description=f"line {i}",
        )
        for i, (code, debit, credit) in enumerate(lines, start=1)
    ]


def journal_entry_posted(
    when: Date, lines: list[Line], *, department: str = "", source_service: str = "payroll", **fields: Any
) -> acc_ev.JournalEntryPosted:
    values: dict[str, Any] = {
        "journal_entry_id": str(uuid.uuid4()),
        "journal_number": f"JE-T-{tag()}",
        "entry_date": when,
        "source_service": source_service,
        "source_id": str(uuid.uuid4()),
        "reference": f"ref-{tag()}",
        "department": department,
        "description": "test entry",
        "lines": posted_lines(lines),
        "total_amount": dec(str(sum(Decimal(d) for _, d, _ in lines))),
    }
    values.update(fields)
    return acc_ev.JournalEntryPosted(**values)


def reversal_of(
    original: acc_ev.JournalEntryPosted, when: Date
) -> tuple[acc_ev.JournalEntryPosted, acc_ev.JournalEntryReversed]:
    """The two events accounting records for a reversal: the reversing entry posted, and reversed."""
    mirrored = [(line.account_code, line.credit_amount.value, line.debit_amount.value) for line in original.lines]
    posted = journal_entry_posted(
        when,
        mirrored,
        department=original.department,
        source_service=original.source_service,
        reversal_of_id=original.journal_entry_id,
    )
    reversed_ = acc_ev.JournalEntryReversed(
        journal_entry_id=original.journal_entry_id,
        journal_number=original.journal_number,
        reversal_entry_id=posted.journal_entry_id,
        reversal_journal_number=posted.journal_number,
        reversal_date=when,
        source_service=original.source_service,
        source_id=original.source_id,
        department=original.department,
        reason="test reversal",
        lines=posted.lines,
        total_amount=posted.total_amount,
    )
    return posted, reversed_


async def publish(nats: Client, settings: Settings, message: Message, event_id: uuid.UUID | None = None) -> uuid.UUID:
    """Publish an event the way accounting's relay would (protobuf body, CloudEvents headers)."""
    event_id = event_id or uuid.uuid4()
    event_type = message.DESCRIPTOR.full_name
    headers = build_headers(
        event_id=event_id,
        event_type=event_type,
        aggregate_id=str(uuid.uuid4()),
        ctx=CallContext(correlation_id=uuid.uuid4()),
        occurred_at=datetime.now(UTC),
    )
    await nats.jetstream().publish(
        event_subject(settings.subject_root, event_type), message.SerializeToString(), headers=headers
    )
    return event_id


async def processed_result(db: asyncpg.Connection, event_id: uuid.UUID) -> Any:
    """The handler's result once the event was applied (None until then; {} for no result)."""
    row = await db.fetchrow("SELECT result FROM processed_events WHERE event_id = $1", event_id)
    if row is None:
        return None
    return json.loads(row["result"]) if row["result"] else {}


async def finance_events(db: asyncpg.Connection, event_type: str, aggregate_id: str) -> list[Message]:
    """Finance events of one type recorded for one aggregate (outbox, each with its event_store twin)."""
    rows = await db.fetch(
        "SELECT o.payload, (s.id IS NOT NULL) AS stored FROM outbox o LEFT JOIN event_store s ON s.id = o.event_id "
        "WHERE o.event_type = $1 AND o.aggregate_id = $2 ORDER BY o.id",
        f"erp.finance.v1.{event_type}",
        aggregate_id,
    )
    out: list[Message] = []
    for r in rows:
        assert r["stored"], "outbox row without event_store row"
        msg = getattr(ev, event_type)()
        msg.ParseFromString(r["payload"])
        out.append(msg)
    return out


# ---- "nothing written" ---------------------------------------------------------------------------

_SNAPSHOT_SQL = """
SELECT
  (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM budgets t) AS budgets,
  (SELECT count(*) FROM budget_transactions) AS transactions,
  (SELECT count(*) FROM financial_reports) AS reports,
  (SELECT count(*) FROM event_store) AS event_store,
  (SELECT count(*) FROM outbox) AS outbox
"""


async def rejected(
    db: asyncpg.Connection, call: Awaitable[Any], code: grpc.StatusCode, *, fields: tuple[str, ...] = ()
) -> grpc.aio.AioRpcError:
    """`call` fails with `code`, names `fields` as violations and writes nothing."""
    before = dict(await db.fetchrow(_SNAPSHOT_SQL))
    err = await rpc_error(call, code)
    assert dict(await db.fetchrow(_SNAPSHOT_SQL)) == before
    for name in fields:
        assert name in violation_fields(err), (name, field_violations(err))
    return err
