"""The CQRS read model: keeps the `invoice_summary` materialized view fresh after billing writes.

Every billing command that changes invoices, their lines or customers sends `NOTIFY
billing_invoice_summary` inside its transaction (PostgreSQL delivers it at commit, drops it on
rollback). One refresher per database (a session advisory lock makes it the leader among
replicas) LISTENs on its own connection and runs `REFRESH MATERIALIZED VIEW CONCURRENTLY`:
readers keep reading the previous contents meanwhile (the refresh takes an EXCLUSIVE lock, which
does not conflict with SELECT's ACCESS SHARE). Bursts are debounced: at most one refresh per
`min_interval_s`; changes made during a refresh trigger one more afterwards. On (re)connecting it
refreshes once, for commits made while nobody was listening.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.runtime.db import Database

log = logging.getLogger(__name__)

CHANNEL = "billing_invoice_summary"
REFRESH_SQL = "REFRESH MATERIALIZED VIEW CONCURRENTLY invoice_summary"


async def mark_stale(session: AsyncSession) -> None:
    """Ask for a refresh once the caller's transaction commits."""
    await session.execute(text(f"NOTIFY {CHANNEL}"))


class SummaryRefresher:
    def __init__(
        self,
        db: Database,
        libpq_url: str,
        *,
        min_interval_s: float = 0.2,
        retry_s: float = 1.0,
        statement_timeout_ms: int = 120_000,
    ) -> None:
        self.db = db
        self.libpq_url = libpq_url
        self.min_interval_s = min_interval_s
        self.retry_s = retry_s
        self.statement_timeout_ms = statement_timeout_ms
        self.lock_key = zlib.crc32(f"erp-read-model:{db.service}:invoice_summary".encode())
        self.refreshes = 0
        self._wake = asyncio.Event()
        self._last = 0.0

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh until `stop` is set; survives database restarts and failed refreshes."""
        while not stop.is_set():
            try:
                await self._run_connected(stop)
            except Exception as exc:  # connection lost, server restarting, refresh failed: retry
                log.warning("invoice_summary refresher failed, retrying: %r", exc)
                await _sleep_or_stop(stop, self.retry_s)

    async def _run_connected(self, stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(
            self.libpq_url,
            server_settings={
                "application_name": f"erp-{self.db.service}-read-model",
                "statement_timeout": str(self.statement_timeout_ms),
            },
        )
        try:
            await conn.add_listener(CHANNEL, lambda *_: self._wake.set())
            while not stop.is_set():
                if await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.lock_key):
                    break
                await _sleep_or_stop(stop, self.retry_s)
            self._wake.set()  # catch up with whatever committed while nobody listened
            loop = asyncio.get_running_loop()
            while not stop.is_set():
                await _wait_either(self._wake, stop)
                if stop.is_set():
                    break
                await _sleep_or_stop(stop, self._last + self.min_interval_s - loop.time())
                self._wake.clear()
                await self.refresh(conn)
                self._last = loop.time()
                self.refreshes += 1
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)

    async def refresh(self, conn: asyncpg.Connection) -> None:
        """On its own connection, outside any transaction block: never inside a unit of work."""
        await conn.execute(REFRESH_SQL)


async def _wait_either(event: asyncio.Event, stop: asyncio.Event) -> None:
    waiters = [asyncio.create_task(event.wait()), asyncio.create_task(stop.wait())]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    if seconds <= 0:
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
