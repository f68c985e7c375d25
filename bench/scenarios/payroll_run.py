"""(4) A payroll run end to end for every employee: RunPayroll (records computed), approval
(records -> processing, one PayrollProcessed each), then the saga until every record is
`processed` (accounting posted its journal entry, payroll stored the transaction id); against
the monolith doing the same period with three SQL transactions (monolith.queries.payroll_run)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import grpc
from erp.payroll.v1 import payroll_pb2 as pay_pb
from erp.payroll.v1 import payroll_service_pb2 as pay

from bench import stubs
from bench.report import Result, Target
from bench.setup import Bench
from bench.stats import ratio
from monolith.generate import HISTORY_END, month_after
from monolith.queries import payroll_run
from services.runtime.convert import date_to_pb

if TYPE_CHECKING:
    from erp.payroll.v1.payroll_service_pb2_grpc import PayrollServiceAsyncStub

NAME = "payroll_run"
CREATOR = str(uuid.uuid4())
APPROVER = str(uuid.uuid4())
POLL_S = 0.05
FULL_RUN = 10_000
GROSS = "SELECT sum(gross_pay) FROM payroll_records WHERE pay_period_start = $1 AND pay_period_end = $2"
# A run is `processing` while any record is; then processed (all posted) or failed (some rejected).
SETTLED = {pay_pb.PAYROLL_RUN_STATUS_PROCESSED, pay_pb.PAYROLL_RUN_STATUS_FAILED}
# Where the saga's time goes, from the services' own timestamps (seconds after the approval
# returned): the last request published by payroll's relay, the last batch accounting began,
# the last answer published by accounting's relay, the last batch payroll began.
STAGES = {
    "payroll": [
        (
            "requests_published",
            "SELECT max(published_at) FROM outbox WHERE event_type = $1 AND created_at >= $2",
            "erp.payroll.v1.PayrollProcessed",
        ),
        (
            "settled_batch_began",
            "SELECT max(processed_at) FROM processed_events WHERE event_type = $1 AND processed_at >= $2",
            "erp.accounting.v1.JournalEntryPosted",
        ),
    ],
    "accounting": [
        (
            "posted_batch_began",
            "SELECT max(processed_at) FROM processed_events WHERE event_type = $1 AND processed_at >= $2",
            "erp.payroll.v1.PayrollProcessed",
        ),
        (
            "answers_published",
            "SELECT max(published_at) FROM outbox WHERE event_type = $1 AND created_at >= $2",
            "erp.accounting.v1.JournalEntryPosted",
        ),
    ],
}


async def stages(bench: Bench, approving_at: datetime, approved_at: datetime) -> dict[str, float]:
    """Each stage's time after the approval returned (negative: before), from rows written
    since the approval began."""
    figures: dict[str, float] = {}
    for service, queries in STAGES.items():
        conn = await bench.connect(service)
        try:
            for name, sql, event_type in queries:
                at = await conn.fetchval(sql, event_type, approving_at - timedelta(seconds=1))
                figures[f"stage_{name}_s"] = (at - approved_at).total_seconds() if at else 0.0
        finally:
            await conn.close()
    return figures


async def services_run(stub: PayrollServiceAsyncStub, start: date, end: date, n: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    request = pay.RunPayrollRequest(pay_period_start=date_to_pb(start), pay_period_end=date_to_pb(end))
    run = (await stub.RunPayroll(request, metadata=(("x-erp-user-id", CREATOR),), timeout=300)).payroll_run
    t1 = time.perf_counter()
    approve = pay.ApprovePayrollRunRequest(id=run.id)
    approving_at = datetime.now(UTC)
    await stub.ApprovePayrollRun(approve, metadata=(("x-erp-user-id", APPROVER),), timeout=300)
    t2 = time.perf_counter()
    approved_at = datetime.now(UTC)
    deadline = t2 + max(120.0, n * 0.2)
    while True:
        state = (await stub.GetPayrollRun(pay.GetPayrollRunRequest(id=run.id), timeout=30)).payroll_run
        if state.status in SETTLED:
            break
        if time.perf_counter() > deadline:
            raise RuntimeError(f"saga incomplete after {deadline - t2:.0f}s: run status {state.status}")
        await asyncio.sleep(POLL_S)
    t3 = time.perf_counter()
    return {
        "records": float(run.employee_count),
        "total_gross": float(run.total_gross.value or 0),
        "failed": float(state.failed_count),
        "run_s": t1 - t0,
        "approve_s": t2 - t1,
        "saga_s": t3 - t2,
        "total_s": t3 - t0,
        "approved_at": approved_at,
        "approving_at": approving_at,
    }


async def run(bench: Bench) -> Result:
    result = Result(NAME, bench.size)
    channel = grpc.aio.insecure_channel(bench.settings.grpc_address("payroll"))
    stub = stubs.payroll(channel)
    try:
        for _ in range(bench.size.repeats):
            start, end = month_after(HISTORY_END, bench.next_period)
            bench.next_period += 1
            services = await services_run(stub, start, end, len(bench.data.employees))
            services |= await stages(bench, services.pop("approving_at"), services.pop("approved_at"))
            conn = await bench.connect("monolith")
            try:
                monolith = await payroll_run(conn, start, end, bench.data.approver_id)
                gross = await conn.fetchval(GROSS, start, end)
            finally:
                await conn.close()
            result.info.setdefault("same_gross_as_monolith", []).append(float(gross) == services.pop("total_gross"))
            figs = {f"services_{k}": v for k, v in services.items()} | {f"monolith_{k}": v for k, v in monolith.items()}
            figs["services_s_per_1000"] = ratio(services["total_s"] * 1000, services["records"])
            figs["services_records_per_s"] = ratio(services["records"], services["total_s"])
            figs["monolith_records_per_s"] = ratio(monolith["records"], monolith["total_s"])
            figs["services_over_monolith"] = ratio(services["total_s"], monolith["total_s"])
            result.repeats.append(figs)
    finally:
        await channel.close()
    result.info["employees"] = len(bench.data.employees)
    result.targets = [Target("<= 3x the monolith", "services_over_monolith", "<=", 3.0)]
    if len(bench.data.employees) >= FULL_RUN:
        result.targets.insert(0, Target("10,000 employees end to end <= 30 s", "services_total_s", "<=", 30.0))
    else:
        result.notes.append(f"the 30 s target is for {FULL_RUN:,} employees (--size full); see services_s_per_1000")
    result.notes.append(
        "services: RunPayroll -> ApprovePayrollRun -> saga (relay, accounting consumer posting one entry per "
        "record, relay, payroll consumer) until every record is processed, polled every 50 ms; monolith: "
        "INSERT...SELECT gross-to-net, UPDATE approve, INSERT entries/lines/ledger + UPDATE processed"
    )
    return result
