"""(2) Outbox relay throughput: N committed events (EmployeeCreated, one aggregate each) drained
by the runtime's OutboxRelay until JetStream acked them all, against raw JetStream async
publishing (publish_async) of the same subjects, payloads and headers in the same run."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from datetime import date

import asyncpg
from erp.employee.v1 import events_pb2 as ev
from google.type.decimal_pb2 import Decimal as PbDecimal
from sqlalchemy.ext.asyncio import create_async_engine

from bench.report import Result, Target
from bench.setup import Bench
from bench.stats import ratio
from services.ops.scratch import delete_streams
from services.runtime.convert import date_to_pb
from services.runtime.db import Database
from services.runtime.events import H_ID, H_MSG_ID
from services.runtime.jetstream import connect, ensure_streams
from services.runtime.relay import OutboxRelay
from services.runtime.settings import Settings, to_asyncpg_url, to_libpq_url, with_database
from services.runtime.tables import new_metadata

NAME = "relay"
PER_TRANSACTION = 100


async def scratch(bench: Bench, root: str) -> tuple[Database, str]:
    """bench_relay: only the runtime tables, emptied; its events go to subject root `root`."""
    server = to_libpq_url(bench.settings.database_url or "")
    name = f"{bench.settings.database_prefix}relay"
    conn = await asyncpg.connect(with_database(server, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = to_asyncpg_url(with_database(server, name))
    engine = create_async_engine(url)
    async with engine.begin() as c:
        await c.run_sync(new_metadata().create_all)
    await engine.dispose()
    settings = Settings(database_url=server, subject_root=root, pool_size=5)
    return Database(url, settings, "relay"), to_libpq_url(url)


def event(i: int) -> ev.EmployeeCreated:
    return ev.EmployeeCreated(
        employee_id=str(uuid.uuid4()),
        first_name=f"First{i}",
        last_name=f"Last{i}",
        email=f"relay{i}@example.com",
        job_title="Clerk",
        salary=PbDecimal(value="52000.00"),
        hire_date=date_to_pb(date(2024, 1, 1)),
        version=1,
    )


async def commit(db: Database, n: int) -> float:
    started = time.perf_counter()
    for first in range(0, n, PER_TRANSACTION):
        async with db.unit_of_work() as uow:
            for i in range(first, min(n, first + PER_TRANSACTION)):
                msg = event(i)
                uow.record(msg, aggregate_type="Employee", aggregate_id=uuid.UUID(msg.employee_id), version=1)
    return time.perf_counter() - started


async def drain(bench: Bench, db: Database, libpq: str, n: int) -> float:
    nc = await connect(bench.settings.require_nats_url(), "bench-relay")
    relay = OutboxRelay(db, nc.jetstream(), libpq)
    stop = asyncio.Event()
    started = time.perf_counter()
    task = asyncio.create_task(relay.run(stop))
    while relay.published_total < n:
        if task.done():
            task.result()
            raise RuntimeError("the relay stopped")
        await asyncio.sleep(0.002)
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    await nc.close()
    return elapsed


async def raw_publish(bench: Bench, db: Database, libpq: str, root: str) -> tuple[float, int]:
    """publish_async of every outbox row (fresh message ids, so nothing is de-duplicated)."""
    conn = await asyncpg.connect(libpq)
    rows = await conn.fetch("SELECT subject, payload, headers FROM outbox ORDER BY id")
    await conn.close()
    nc = await connect(bench.settings.require_nats_url(), "bench-raw")
    js = nc.jetstream()
    await ensure_streams(js, root)
    messages = []
    for row in rows:
        headers = dict(json.loads(row["headers"]))
        headers[H_MSG_ID] = headers[H_ID] = str(uuid.uuid4())
        messages.append((row["subject"].replace(db.settings.subject_root, root, 1), bytes(row["payload"]), headers))
    started = time.perf_counter()
    futures = [await js.publish_async(s, p, headers=h) for s, p, h in messages]
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - started
    await nc.close()
    return elapsed, len(messages)


async def run(bench: Bench) -> Result:
    n = bench.size.relay_events
    result = Result(NAME, bench.size, info={"events": n, "events_per_transaction": PER_TRANSACTION})
    for _ in range(bench.size.repeats):
        relay_root, raw_root = f"relay{secrets.token_hex(3)}", f"raw{secrets.token_hex(3)}"
        db, libpq = await scratch(bench, relay_root)
        nc = await connect(bench.settings.require_nats_url(), "bench-streams")
        await ensure_streams(nc.jetstream(), relay_root)
        await nc.close()
        try:
            commit_s = await commit(db, n)
            relay_s = await drain(bench, db, libpq, n)
            raw_s, published = await raw_publish(bench, db, libpq, raw_root)
        finally:
            await db.dispose()
            for root in (relay_root, raw_root):
                await delete_streams(Settings(nats_url=bench.settings.nats_url, subject_root=root))
        relay_rate, raw_rate = n / relay_s, published / raw_s
        result.repeats.append(
            {
                "commit_events_per_s": n / commit_s,
                "relay_events_per_s": relay_rate,
                "raw_publish_async_events_per_s": raw_rate,
                "relay_over_raw": ratio(relay_rate, raw_rate),
            }
        )
    result.targets = [Target("relay >= 60% of raw JetStream publishing", "relay_over_raw", ">=", 0.6)]
    result.notes.append(
        "relay: the runtime's OutboxRelay (in the bench process) drains a backlog committed beforehand; "
        "raw: js.publish_async of the same rows, then all acks awaited"
    )
    return result
