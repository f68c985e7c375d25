"""Periodic background jobs (overdue invoices, expiring reservations, snapshots, refreshes).

`periodic(every_s, work)` runs `work()` every `every_s` seconds until stopped; a failure is logged
and retried on the next tick. `leader_lock` lets exactly one replica run a job at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any

from sqlalchemy import text

from services.runtime.db import Database

log = logging.getLogger(__name__)


def periodic(
    every_s: float, work: Callable[[], Awaitable[object]], name: str
) -> Callable[[asyncio.Event], Coroutine[Any, Any, None]]:
    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await work()
            except Exception:
                log.exception("background job %s failed; retrying in %.1fs", name, every_s)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)

    return run


@contextlib.asynccontextmanager
async def leader_lock(db: Database, name: str) -> AsyncIterator[bool]:
    """Yields True when this process holds the transaction-scoped lock for `name` (else False)."""
    key = zlib.crc32(f"erp-job:{db.service}:{name}".encode())
    async with db.unit_of_work() as uow:
        got = (await uow.session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key})).scalar_one()
        yield bool(got)
