"""SQL probes for the billing tests: "nothing written", the events a command recorded.

The overdue job writes in the background (every 0.2 s): probes that compare before and after
hold its advisory lock meanwhile, so the job skips its turn instead of adding rows.
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import grpc
from google.protobuf.message import Message

from services.runtime.events import decode
from tests.billing.helpers import assert_violation, rpc_error

# Tables a command may write; "nothing written" compares their row counts.
WRITE_TABLES = ("customers", "invoices", "invoice_line_items", "payments", "credit_notes", "event_store", "outbox")
OVERDUE_JOB_KEY = zlib.crc32(b"erp-job:billing:mark-overdue")


@asynccontextmanager
async def overdue_job_paused(db: asyncpg.Connection) -> AsyncIterator[None]:
    """While held, the overdue job cannot take its leader lock and skips its runs."""
    await db.execute("SELECT pg_advisory_lock($1)", OVERDUE_JOB_KEY)
    try:
        yield
    finally:
        await db.execute("SELECT pg_advisory_unlock($1)", OVERDUE_JOB_KEY)


async def counts(db: asyncpg.Connection) -> dict[str, int]:
    sql = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in WRITE_TABLES)
    return dict(await db.fetchrow(sql))


async def row(db: asyncpg.Connection, table: str, key: str) -> dict[str, Any] | None:
    found = await db.fetchrow(f"SELECT * FROM {table} WHERE id = $1", uuid.UUID(key))
    return dict(found) if found else None


async def _snapshot(db: asyncpg.Connection, customers: tuple[str, ...], invoices: tuple[str, ...]) -> Any:
    lines = "SELECT * FROM invoice_line_items WHERE invoice_id = $1 ORDER BY line_number"
    return (
        await counts(db),
        [dict(r) for r in await db.fetch("SELECT * FROM invoice_number_sequences ORDER BY year")],
        [dict(r) for r in await db.fetch("SELECT * FROM credit_note_number_sequences ORDER BY year")],
        [await row(db, "customers", c) for c in customers],
        [await row(db, "invoices", i) for i in invoices],
        [[dict(r) for r in await db.fetch(lines, uuid.UUID(i))] for i in invoices],
    )


@asynccontextmanager
async def nothing_written(
    db: asyncpg.Connection, *, customers: tuple[str, ...] = (), invoices: tuple[str, ...] = ()
) -> AsyncIterator[None]:
    """No row added anywhere, no number used, and the named rows (and lines) unchanged."""
    async with overdue_job_paused(db):
        before = await _snapshot(db, customers, invoices)
        yield
        after = await _snapshot(db, customers, invoices)
    assert after == before


async def rejected(
    db: asyncpg.Connection,
    call: Callable[[], Awaitable[Any]],
    code: grpc.StatusCode,
    *,
    fields: tuple[str, ...] = (),
    customers: tuple[str, ...] = (),
    invoices: tuple[str, ...] = (),
) -> grpc.aio.AioRpcError:
    """`call()` fails with `code`, names `fields` as violations, and writes nothing.

    `call` is a factory: a grpc.aio call starts as soon as it is created, so it must be made
    only after the "before" snapshot."""
    async with nothing_written(db, customers=customers, invoices=invoices):
        err = await rpc_error(call(), code)
    for name in fields:
        assert_violation(err, name)
    return err


@dataclass
class Recorded:
    event_type: str
    message: Any
    aggregate_id: str
    aggregate_type: str
    version: int
    headers: dict[str, str]

    @property
    def name(self) -> str:
        return self.event_type.rsplit(".", 1)[1]


@asynccontextmanager
async def recorded_events(db: asyncpg.Connection, aggregate_id: str | None = None) -> AsyncIterator[list[Recorded]]:
    """The events the block recorded (for one aggregate, or all), decoded from their outbox rows;
    each outbox row has its event_store twin with the same type and aggregate."""
    start = await db.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
    out: list[Recorded] = []
    yield out
    rows = await db.fetch(
        "SELECT o.event_type, o.aggregate_id, o.payload, o.headers::text AS headers, "
        "e.event_type AS store_type, e.aggregate_id AS store_aggregate, e.aggregate_type, e.event_version "
        "FROM outbox o LEFT JOIN event_store e ON e.id = o.event_id "
        "WHERE o.id > $1 AND ($2::text IS NULL OR o.aggregate_id = $2) ORDER BY o.id",
        start,
        aggregate_id,
    )
    for r in rows:
        assert r["store_type"] == r["event_type"], "an outbox row without its event_store twin"
        assert str(r["store_aggregate"]) == r["aggregate_id"]
        headers = json.loads(r["headers"])
        received = decode(headers, bytes(r["payload"]))
        out.append(
            Recorded(
                r["event_type"], received.message, r["aggregate_id"], r["aggregate_type"], r["event_version"], headers
            )
        )


def names(events: list[Recorded]) -> list[str]:
    return [e.name for e in events]


def only(events: list[Recorded], name: str) -> Message:
    found = [e.message for e in events if e.name == name]
    assert len(found) == 1, (name, names(events))
    return found[0]
