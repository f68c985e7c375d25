"""(5) Write path: CreateEmployee and a posted manual journal entry, via gRPC, via the gateway's
GraphQL mutations and as raw asyncpg inserts of the same rows plus the event_store/outbox rows,
at concurrency 1 and 20 (each request commits one transaction; the relays publish meanwhile)."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import grpc
import httpx
from erp.accounting.v1 import accounting_service_pb2 as acc
from erp.employee.v1 import employee_service_pb2 as emp
from google.type.decimal_pb2 import Decimal as PbDecimal

from bench import raw, stubs
from bench.graphql import HEADERS, introspect, post
from bench.load import closed_loop
from bench.report import Result
from bench.setup import Bench
from bench.stats import latency_ms, ratio
from services.runtime.convert import date_to_pb

NAME = "write_path"
ENTRY_DATE = date(2025, 12, 15)  # inside the generated history's last (open) month
CREATE_EMPLOYEE = "mutation($input: CreateEmployeeInput!) { createEmployee(input: $input) { id version } }"
POST_ENTRY = "mutation($input: PostJournalEntryInput!) { postJournalEntry(input: $input) { id journalNumber } }"
Call = Callable[[int], Awaitable[Any]]


def employee_fields(tag: str, i: int, department_id: str) -> dict[str, Any]:
    return {
        "first_name": "Bench",
        "last_name": f"Writer{i}",
        "email": f"w{i}.{tag}@bench.example",
        "job_title": "Clerk",
        "department_id": department_id,
    }


def paths(
    bench: Bench,
    http: httpx.AsyncClient,
    mutations: set[str],
    pool: dict[str, asyncpg.Pool],
    channels: dict[str, grpc.aio.Channel],
) -> dict[str, Call]:
    employees, ledger = stubs.employee(channels["employee"]), stubs.accounting(channels["accounting"])
    department = str(bench.data.departments[0].id)
    url, root = f"{bench.stack.gateway_url}/graphql", bench.settings.subject_root

    def tag() -> str:
        return secrets.token_hex(4)

    async def grpc_employee(i: int) -> None:
        f = employee_fields(tag(), i, department)
        request = emp.CreateEmployeeRequest(
            **f, salary=PbDecimal(value="52000.00"), hire_date=date_to_pb(date(2024, 3, 1))
        )
        await employees.CreateEmployee(request, timeout=30)

    async def graphql_employee(i: int) -> None:
        f = employee_fields(tag(), i, department)
        camel = {
            "firstName": f["first_name"],
            "lastName": f["last_name"],
            "email": f["email"],
            "jobTitle": "Clerk",
            "departmentId": department,
            "salary": "52000.00",
            "hireDate": "2024-03-01",
        }
        await post(http, url, CREATE_EMPLOYEE, {"input": camel})

    async def raw_employee(i: int) -> None:
        async with pool["employee"].acquire() as conn:
            await raw.create_employee(conn, root, f"w{i}.{tag()}@raw.example", bench.data.departments[0].id)

    def lines(amount: str) -> list[acc.JournalEntryLineInput]:
        return [
            acc.JournalEntryLineInput(account_code="5300", debit_amount=PbDecimal(value=amount)),
            acc.JournalEntryLineInput(account_code="1010", credit_amount=PbDecimal(value=amount)),
        ]

    async def grpc_entry(i: int) -> None:
        request = acc.PostJournalEntryRequest(
            entry_date=date_to_pb(ENTRY_DATE), description="Bench", lines=lines("12.34")
        )
        await ledger.PostJournalEntry(request, timeout=30)

    async def graphql_entry(i: int) -> None:
        entry = {
            "entryDate": ENTRY_DATE.isoformat(),
            "description": "Bench",
            "lines": [
                {"accountCode": "5300", "debitAmount": "12.34"},
                {"accountCode": "1010", "creditAmount": "12.34"},
            ],
        }
        await post(http, url, POST_ENTRY, {"input": entry})

    async def raw_entry(i: int) -> None:
        async with pool["accounting"].acquire() as conn:
            await raw.post_entry(conn, root, ENTRY_DATE, Decimal("12.34"))

    chosen: dict[str, Call] = {
        "grpc_create_employee": grpc_employee,
        "raw_create_employee": raw_employee,
        "grpc_post_entry": grpc_entry,
        "raw_post_entry": raw_entry,
    }
    if "createEmployee" in mutations:
        chosen["graphql_create_employee"] = graphql_employee
    if "postJournalEntry" in mutations:
        chosen["graphql_post_entry"] = graphql_entry
    return chosen


async def run(bench: Bench) -> Result:
    size = bench.size
    result = Result(NAME, size, info={"requests_per_level": size.write_requests})
    top = max(size.write_concurrency)
    pools = {
        s: await asyncpg.create_pool(bench.db_url(s), min_size=1, max_size=top) for s in ("employee", "accounting")
    }
    limits = httpx.Limits(max_connections=top, max_keepalive_connections=top)
    channels = {s: grpc.aio.insecure_channel(bench.settings.grpc_address(s)) for s in ("employee", "accounting")}
    try:
        async with httpx.AsyncClient(limits=limits, timeout=60, headers=HEADERS) as http:
            mutations = (await introspect(http, f"{bench.stack.gateway_url}/graphql")).mutations
            calls = paths(bench, http, mutations, pools, channels)
            result.info["paths"] = sorted(calls)
            if "graphql_post_entry" not in calls:
                result.notes.append("the gateway has no postJournalEntry mutation: GraphQL journal path pending")
            for _ in range(size.repeats):
                figs: dict[str, float] = {}
                for c in size.write_concurrency:
                    for name, call in calls.items():
                        await closed_loop(call, 3, 1)  # warm-up
                        done = await closed_loop(call, size.write_requests, c)
                        if done.errors:
                            raise RuntimeError(f"{name}: {done.errors} failed, e.g. {done.first_error}")
                        figs[f"{name}_c{c}_rps"] = done.rate
                        figs |= {f"{name}_c{c}_{k}": v for k, v in latency_ms(done.latencies).items() if k != "p99_ms"}
                    for name in calls:
                        kind = "create_employee" if name.endswith("employee") else "post_entry"
                        if not name.startswith("raw"):
                            figs[f"{name}_c{c}_rps_vs_raw"] = ratio(
                                figs[f"{name}_c{c}_rps"], figs[f"raw_{kind}_c{c}_rps"]
                            )
                result.repeats.append(figs)
    finally:
        for p in pools.values():
            await p.close()
        for channel in channels.values():
            await channel.close()
    result.notes.append("no target in the issue for this scenario: the figures are the floor comparison")
    return result
