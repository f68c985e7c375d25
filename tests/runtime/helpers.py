"""A scratch database with only the runtime's tables, for testing the outbox and consumers
without interfering with a running service's relay."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

from services.runtime.db import Database
from services.runtime.settings import Settings, to_asyncpg_url, to_libpq_url, with_database
from services.runtime.tables import new_metadata

T = TypeVar("T")


async def scratch_database(settings: Settings, name: str) -> Database:
    """A fresh database `<prefix><name>` with event_store, processed_events, outbox and `effects`."""
    server = to_libpq_url(settings.database_url or "")
    full = f"{settings.database_prefix}{name}"
    conn = await asyncpg.connect(with_database(server, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{full}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{full}"')
    finally:
        await conn.close()
    url = to_asyncpg_url(with_database(server, full))
    engine = create_async_engine(url)
    async with engine.begin() as c:
        await c.run_sync(new_metadata().create_all)
        await c.exec_driver_sql("CREATE TABLE effects (event_id uuid NOT NULL, note text)")
    await engine.dispose()
    return Database(url, settings, name)


async def eventually(check: Callable[[], Awaitable[T]], timeout_s: float = 20.0, interval_s: float = 0.05) -> T:
    """Poll `check` until it returns a truthy value; fail with the last value after the timeout."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        value = await check()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s (last value {value!r})")
        await asyncio.sleep(interval_s)


def new_id() -> uuid.UUID:
    return uuid.uuid4()
