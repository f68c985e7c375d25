"""The payroll saga end to end, through the real employee, payroll and accounting services:
approve → PayrollProcessed → one balanced journal entry per record → JournalEntryPosted →
record `processed` with its transaction id. Also with every event delivered twice (live, so
duplicates may arrive out of order) and with accounting stopped in the middle of the run."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from decimal import Decimal

import asyncpg
import grpc
import pytest
from erp.accounting.v1 import accounting_service_pb2 as acc
from erp.accounting.v1 import accounting_service_pb2_grpc as acc_grpc
from erp.employee.v1 import employee_service_pb2 as emp
from erp.employee.v1 import employee_service_pb2_grpc as emp_grpc
from erp.payroll.v1 import payroll_pb2 as pay_pb
from erp.payroll.v1 import payroll_service_pb2 as pay
from erp.payroll.v1 import payroll_service_pb2_grpc as pay_grpc
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal
from nats.aio.client import Client
from nats.aio.msg import Msg

from services.ops.embedded import free_port
from services.runtime.events import H_MSG_ID
from services.runtime.jetstream import connect, ensure_streams
from services.runtime.migrations import ensure_databases, upgrade
from services.runtime.serve import load_definition
from services.runtime.service import RunningService, start_service
from services.runtime.settings import SERVICES, Settings, to_libpq_url
from tests.runtime.helpers import eventually

pytestmark = pytest.mark.slow
EMPLOYEES = 100
PERIOD_START = Date(year=2026, month=1, day=1)
PERIOD_END = Date(year=2026, month=1, day=31)
CREATOR = str(uuid.uuid4())
APPROVER = str(uuid.uuid4())


@dataclass
class Saga:
    settings: Settings
    nats: Client
    services: dict[str, RunningService]
    channels: dict[str, grpc.aio.Channel]

    def employee(self) -> emp_grpc.EmployeeServiceStub:
        return emp_grpc.EmployeeServiceStub(self.channels["employee"])

    def payroll(self) -> pay_grpc.PayrollServiceStub:
        return pay_grpc.PayrollServiceStub(self.channels["payroll"])

    def accounting(self) -> acc_grpc.AccountingServiceStub:
        return acc_grpc.AccountingServiceStub(self.channels["accounting"])

    async def start(self, name: str) -> None:
        self.services[name] = await start_service(load_definition(name), self.settings)

    async def stop(self, name: str) -> None:
        await self.services.pop(name).shutdown()

    async def sql(self, service: str, query: str, *args: object) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(to_libpq_url(self.settings.service_database_url(service)))
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()


@pytest.fixture(scope="module")
async def saga(settings: Settings) -> AsyncIterator[Saga]:
    """Three services on databases and subjects of their own, so nothing else interferes."""
    own = replace(
        settings,
        database_prefix="erptest_saga_",
        subject_root=settings.subject_root + "saga",
        grpc_ports={s: free_port() for s in SERVICES},
    )
    await ensure_databases(own, ["employee", "payroll", "accounting"])
    for service in ("employee", "payroll", "accounting"):
        await asyncio.to_thread(upgrade, own, service)
    nc = await connect(own.require_nats_url(), "saga-test")
    await ensure_streams(nc.jetstream(), own.subject_root)
    s = Saga(own, nc, {}, {})
    for name in ("employee", "payroll", "accounting"):
        await s.start(name)
        s.channels[name] = grpc.aio.insecure_channel(own.grpc_address(name))
    tax = pay.CreateTaxRateRequest(
        year=2026,
        federal_rate=PbDecimal(value="0.1200"),
        state_rate=PbDecimal(value="0.0500"),
        social_security_rate=PbDecimal(value="0.0620"),
        medicare_rate=PbDecimal(value="0.0145"),
        effective_from=Date(year=2026, month=1, day=1),
    )
    await s.payroll().CreateTaxRate(tax)
    yield s
    for name in list(s.services):
        await s.stop(name)
    for ch in s.channels.values():
        await ch.close()
    await nc.close()


async def hire_department(s: Saga, size: int) -> str:
    """A department of `size` employees; returns its name once payroll's cache has them all."""
    name = f"Saga {secrets.token_hex(4)}"
    dept = await s.employee().CreateDepartment(emp.CreateDepartmentRequest(name=name, code=name[-8:].upper()))

    async def hire(i: int) -> None:
        await s.employee().CreateEmployee(
            emp.CreateEmployeeRequest(
                first_name=f"E{i}",
                last_name=name,
                email=f"e{i}-{secrets.token_hex(4)}@saga.example",
                job_title="Clerk",
                salary=PbDecimal(value=f"{48000 + 120 * i}.00"),
                hire_date=Date(year=2025, month=6, day=1),
                department_id=dept.department.id,
            )
        )

    for start in range(0, size, 20):
        await asyncio.gather(*(hire(i) for i in range(start, min(size, start + 20))))

    async def cached() -> bool:
        rows = await s.sql("payroll", "SELECT count(*) AS n FROM employee_cache WHERE department = $1", name)
        return bool(rows[0]["n"] == size)

    await eventually(cached, timeout_s=30)
    return name


async def run_and_approve(s: Saga, department: str) -> str:
    creator = (("x-erp-user-id", CREATOR),)
    run = await s.payroll().RunPayroll(
        pay.RunPayrollRequest(pay_period_start=PERIOD_START, pay_period_end=PERIOD_END, department=department),
        metadata=creator,
    )
    assert run.payroll_run.employee_count == EMPLOYEES
    approver = (("x-erp-user-id", APPROVER),)
    await s.payroll().ApprovePayrollRun(pay.ApprovePayrollRunRequest(id=run.payroll_run.id), metadata=approver)
    return run.payroll_run.id


async def records(s: Saga, run_id: str) -> list[pay_pb.PayrollRecord]:
    out: list[pay_pb.PayrollRecord] = []
    token = ""
    while True:
        page = await s.payroll().ListPayrollRecords(
            pay.ListPayrollRecordsRequest(payroll_run_id=run_id, page_size=1000, page_token=token)
        )
        out.extend(page.payroll_records)
        token = page.next_page_token
        if not token:
            return out


def all_processed(s: Saga, run_id: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return all(r.status == pay_pb.PAYROLL_RECORD_STATUS_PROCESSED for r in await records(s, run_id))

    return check


async def assert_saga_completed(s: Saga, run_id: str) -> None:
    recs = await records(s, run_id)
    assert len(recs) == EMPLOYEES
    assert {r.status for r in recs} == {pay_pb.PAYROLL_RECORD_STATUS_PROCESSED}
    entries = await s.sql(
        "accounting",
        "SELECT id, source_id, total_debit, total_credit FROM journal_entries "
        "WHERE source_service = 'payroll' AND source_id = ANY($1::uuid[])",
        [r.id for r in recs],
    )
    # Exactly one journal entry per record, and each record points at its own entry.
    assert len(entries) == EMPLOYEES
    by_source = {str(e["source_id"]): e for e in entries}
    for r in recs:
        entry = by_source[r.id]
        assert r.accounting_transaction_id == str(entry["id"])
        assert entry["total_debit"] == entry["total_credit"] == Decimal(r.gross_pay.value)
    trial = await s.accounting().GetTrialBalance(acc.GetTrialBalanceRequest(as_of_date=PERIOD_END))
    assert trial.trial_balance.balanced
    assert trial.trial_balance.total_debit.value == trial.trial_balance.total_credit.value


async def test_saga_for_100_employees(saga: Saga) -> None:
    department = await hire_department(saga, EMPLOYEES)
    run_id = await run_and_approve(saga, department)
    await eventually(all_processed(saga, run_id), timeout_s=60)
    await assert_saga_completed(saga, run_id)


async def test_saga_with_every_event_delivered_twice(saga: Saga) -> None:
    js = saga.nats.jetstream()
    root = saga.settings.subject_root
    duplicated = 0

    async def duplicate(msg: Msg) -> None:
        nonlocal duplicated
        headers = dict(msg.headers or {})
        if headers.get("x-test-duplicate"):
            return
        headers[H_MSG_ID] = headers.get(H_MSG_ID, "") + ".dup"
        headers["x-test-duplicate"] = "1"
        await js.publish(msg.subject, msg.data, headers=headers)
        duplicated += 1

    subs = [
        await saga.nats.subscribe(f"{root}.payroll.PayrollProcessed", cb=duplicate),
        await saga.nats.subscribe(f"{root}.accounting.JournalEntryPosted", cb=duplicate),
    ]
    try:
        department = await hire_department(saga, EMPLOYEES)
        run_id = await run_and_approve(saga, department)
        await eventually(all_processed(saga, run_id), timeout_s=60)
        await asyncio.sleep(1.0)  # let the late duplicates arrive and be handled
    finally:
        for sub in subs:
            await sub.unsubscribe()
    assert duplicated >= 2 * EMPLOYEES
    await assert_saga_completed(saga, run_id)


async def test_saga_survives_accounting_restart(saga: Saga) -> None:
    # Consumers apply a fetched batch (up to 100 events) in one transaction: small batches
    # keep the run in progress for long enough to stop accounting in its middle.
    accounting = saga.services["accounting"].consumer
    assert accounting is not None
    accounting.batch_size = 5
    department = await hire_department(saga, EMPLOYEES)
    run_id = await run_and_approve(saga, department)

    async def some_processed() -> bool:
        recs = await records(saga, run_id)
        return any(r.status == pay_pb.PAYROLL_RECORD_STATUS_PROCESSED for r in recs)

    await eventually(some_processed, timeout_s=60, interval_s=0.005)
    await saga.stop("accounting")  # accounting goes away in the middle of the run
    done_while_down = sum(r.status == pay_pb.PAYROLL_RECORD_STATUS_PROCESSED for r in await records(saga, run_id))
    await asyncio.sleep(0.5)
    await saga.start("accounting")
    await eventually(all_processed(saga, run_id), timeout_s=60)
    await assert_saga_completed(saga, run_id)
    assert done_while_down < EMPLOYEES, "accounting finished before it was stopped: the restart was not exercised"
