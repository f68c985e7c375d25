"""(1) Gateway read: N employees with department and manager (and, when the gateway has the
fields, each one's last 3 payroll records -> journal entry -> lines -> account), at several
concurrencies; against the hand-written direct gRPC client and the monolith's single SQL query."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx

from bench.direct import Direct
from bench.graphql import HEADERS, introspect, post, read_query
from bench.load import Run, closed_loop
from bench.report import Result, Target
from bench.setup import Bench
from bench.stats import latency_ms, ratio
from monolith.generate import history_months
from monolith.queries import READ_DEEP, READ_SHALLOW

NAME = "gateway_read"
WARMUP = 5


async def count_gateway_rpcs(bench: Bench, query: str, n: int) -> dict[str, int]:
    """One request through an in-process gateway app, counting its RPCs by method."""
    from gateway.app import create_app
    from gateway.call_policy import RPC_COUNTER

    app = create_app(bench.settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            await post(http, "http://gateway/graphql", query, {"first": n})  # warm: channels, loaders
            RPC_COUNTER.reset()
            await post(http, "http://gateway/graphql", query, {"first": n})
            return RPC_COUNTER.by_name()


async def response_bytes(http: httpx.AsyncClient, url: str, query: str, n: int) -> int:
    reply = await http.post(url, json={"query": query, "variables": {"first": n}})
    return len(reply.content)


def figures(prefix: str, run: Run) -> dict[str, float]:
    out = {f"{prefix}_rps": run.rate, **{f"{prefix}_{k}": v for k, v in latency_ms(run.latencies).items()}}
    out[f"{prefix}_errors"] = float(run.errors)  # failed requests are not in the rate or latencies
    return out


def first_errors(result: Result, prefix: str, run: Run) -> None:
    if run.first_error:
        result.info.setdefault("first_errors", {}).setdefault(prefix, run.first_error)


async def measure(call: Callable[[int], Awaitable[Any]], total: int, concurrency: int) -> Run:
    await closed_loop(call, WARMUP, min(WARMUP, concurrency))
    return await closed_loop(call, total, concurrency)


async def run(bench: Bench) -> Result:
    size = bench.size
    n = size.read_employees
    result = Result(NAME, size)
    url = f"{bench.stack.gateway_url}/graphql"
    limits = httpx.Limits(
        max_connections=max(size.read_concurrency), max_keepalive_connections=max(size.read_concurrency)
    )
    async with httpx.AsyncClient(limits=limits, timeout=60, headers=HEADERS) as http:
        schema = await introspect(http, url)
        query, deep = read_query(schema)
        since = history_months(bench.data.history_months)[-3][0] if deep else None
        result.info.update({"deep": deep, "query": query, "employees_per_request": n})
        if not deep:
            result.notes.append(
                "the gateway has no Employee -> PayrollRecord -> JournalEntry -> Account path yet: "
                "measured employees -> department -> manager; the 4-hop read is pending"
            )
        rpcs = await count_gateway_rpcs(bench, query, n)
        result.info["response_bytes"] = await response_bytes(http, url, query, n)
        direct = Direct(bench.settings)
        pool = await asyncpg.create_pool(bench.monolith_url, min_size=1, max_size=max(size.read_concurrency))
        try:
            direct_rpcs = await direct.read(n, since)
            result.info.update({"gateway_rpcs_by_method": rpcs, "direct_rpcs": direct_rpcs})
            sql = READ_DEEP if deep else READ_SHALLOW
            rows = len(await pool.fetch(sql, n))
            result.info["monolith_rows_per_request"] = rows

            async def gateway(_: int) -> None:
                body = await post(http, url, query, {"first": n})
                if len(body["data"]["employees"]["edges"]) != n:
                    raise RuntimeError("short answer")

            async def by_grpc(_: int) -> None:
                await direct.read(n, since)

            async def monolith(_: int) -> None:
                await pool.fetch(sql, n)

            for _ in range(size.repeats):
                figs: dict[str, float] = {
                    "gateway_rpcs_per_request": float(sum(rpcs.values())),
                    "direct_rpcs_per_request": float(direct_rpcs),
                }
                for c in size.read_concurrency:
                    for label, call in (("gateway", gateway), ("direct", by_grpc), ("monolith", monolith)):
                        done = await measure(call, size.requests_at(c), c)
                        figs |= figures(f"{label}_c{c}", done)
                        first_errors(result, f"{label}_c{c}", done)
                    figs[f"gateway_over_direct_p50_c{c}"] = ratio(
                        figs[f"gateway_c{c}_p50_ms"], figs[f"direct_c{c}_p50_ms"]
                    )
                    figs[f"gateway_over_monolith_p50_c{c}"] = ratio(
                        figs[f"gateway_c{c}_p50_ms"], figs[f"monolith_c{c}_p50_ms"]
                    )
                result.repeats.append(figs)
        finally:
            await direct.close()
            await pool.close()
    low, high = min(size.read_concurrency), max(size.read_concurrency)
    result.targets = [
        Target("RPCs per request = (service, level) pairs", "gateway_rpcs_per_request", "<=", float(direct_rpcs)),
        Target("gateway p50 <= 1.5x direct gRPC", f"gateway_over_direct_p50_c{low}", "<=", 1.5),
        Target("gateway p50 <= 3x monolith", f"gateway_over_monolith_p50_c{low}", "<=", 3.0),
        Target(f">= 300 req/s at {high} concurrent", f"gateway_c{high}_rps", ">=", 300.0),
    ]
    result.notes.append("load generator (httpx), gateway, services and PostgreSQL share the machine's CPUs")
    return result
