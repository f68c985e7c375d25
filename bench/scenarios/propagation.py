"""(3) Event propagation: UpdateEmployee (salary) at a steady rate through the employee
service; for each update, the time from the employee row's change (updated_at, set in the
committing transaction) to payroll's employee_cache row holding that version (last_synced_at,
set in the consumer's committing transaction). Both are the services' own wall-clock stamps,
so there is no polling error; each includes the rest of its transaction (flush + commit)."""

from __future__ import annotations

import asyncio
import time
import uuid

import grpc
from erp.employee.v1 import employee_pb2 as emp_pb
from erp.employee.v1 import employee_service_pb2 as emp
from google.protobuf.field_mask_pb2 import FieldMask
from google.type.decimal_pb2 import Decimal as PbDecimal

from bench import stubs
from bench.load import open_loop
from bench.report import Result, Target
from bench.setup import Bench
from bench.stats import latency_ms, percentile

NAME = "propagation"
WAIT_S = 120.0


async def versions(bench: Bench, service: str, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[int, float]]:
    """Per employee: (version, epoch seconds of its last change) as the service's database has it."""
    sql = {
        "employee": "SELECT id, version, extract(epoch FROM updated_at) AS t FROM employees WHERE id = ANY($1)",
        "payroll": "SELECT employee_id AS id, employee_version AS version, extract(epoch FROM last_synced_at) AS t "
        "FROM employee_cache WHERE employee_id = ANY($1)",
    }[service]
    conn = await bench.connect(service)
    try:
        return {r["id"]: (r["version"], float(r["t"])) for r in await conn.fetch(sql, ids)}
    finally:
        await conn.close()


async def wait_cached(bench: Bench, expected: dict[uuid.UUID, int]) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        cached = await versions(bench, "payroll", list(expected))
        if all(cached.get(i, (0, 0.0))[0] >= v for i, v in expected.items()):
            return
        if time.monotonic() > deadline:
            missing = sum(cached.get(i, (0, 0.0))[0] < v for i, v in expected.items())
            raise RuntimeError(f"{missing} cache rows not updated within {WAIT_S:.0f}s")
        await asyncio.sleep(0.2)


async def run(bench: Bench) -> Result:
    size = bench.size
    total = max(1, int(size.update_rate * size.update_seconds))
    ids = [e.id for e in bench.data.employees]
    result = Result(NAME, size, info={"updates_per_repeat": total, "rate_per_s": size.update_rate})
    channel = grpc.aio.insecure_channel(bench.settings.grpc_address("employee"))
    stub = stubs.employee(channel)
    current = {i: v for i, (v, _) in (await versions(bench, "employee", ids)).items()}
    offset = 0
    try:
        for _ in range(size.repeats):
            chosen = [ids[(offset + k) % len(ids)] for k in range(min(total, len(ids)))]
            offset += len(chosen)
            salary = 60_000 + offset

            async def update(k: int, chosen: list[uuid.UUID] = chosen, salary: int = salary) -> None:
                key = chosen[k % len(chosen)]
                employee = emp_pb.Employee(id=str(key), salary=PbDecimal(value=f"{salary + k}.00"))
                request = emp.UpdateEmployeeRequest(
                    employee=employee, update_mask=FieldMask(paths=["salary"]), version=current[key]
                )
                reply = await stub.UpdateEmployee(request, timeout=10)
                current[key] = reply.employee.version

            load = await open_loop(update, size.update_rate, len(chosen) / size.update_rate)
            if load.errors:
                raise RuntimeError(f"{load.errors} updates failed: {load.first_error}")
            await wait_cached(bench, {i: current[i] for i in chosen})
            changed, cached = await versions(bench, "employee", chosen), await versions(bench, "payroll", chosen)
            lags = [cached[i][1] - changed[i][1] for i in chosen]
            result.repeats.append(
                {
                    **{f"propagation_{k}": v for k, v in latency_ms(lags).items()},
                    "propagation_max_ms": max(lags) * 1000,
                    "update_rpc_p50_ms": percentile(load.latencies, 50) * 1000,
                    "update_rpc_p95_ms": percentile(load.latencies, 95) * 1000,
                    "achieved_update_rate_per_s": load.rate,
                }
            )
    finally:
        await channel.close()
    result.targets = [Target("propagation p95 <= 50 ms", "propagation_p95_ms", "<=", 50.0)]
    return result
