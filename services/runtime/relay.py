"""The outbox relay: publishes committed outbox rows to JetStream and marks them sent.

- Wakes on `NOTIFY erp_outbox` (sent by every unit of work that recorded events) or on a poll.
- One relay per database publishes at a time: a session-level advisory lock is the lease, so
  replicas of a service never double-publish (a crashed leader's lock dies with its connection).
- The event id is the `Nats-Msg-Id`, so a row re-published after a crash between the ack and
  the UPDATE is dropped by JetStream's duplicate window; consumers are idempotent anyway.
- Order per aggregate is kept: rows of one aggregate are published one after another, and a
  failure stops that aggregate's chain for this round; different aggregates go concurrently.
- Each loop (at most once a second) it sets the backlog and oldest-unsent-age gauges; a replica
  waiting for the lease reports them too (aggregate replicas with `max`).
- Rows restored as unpublished by a database restore keep their event id: re-publishing them is
  dropped by JetStream within the duplicate window and skipped by consumers after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections import defaultdict
from typing import Any

import asyncpg
from nats.js import JetStreamContext
from sqlalchemy import select, update
from sqlalchemy.sql import func

from services.runtime import metrics
from services.runtime.db import OUTBOX_CHANNEL, Database
from services.runtime.tables import OUTBOX

log = logging.getLogger(__name__)


class OutboxRelay:
    def __init__(
        self,
        db: Database,
        js: JetStreamContext,
        libpq_url: str,
        *,
        batch_size: int = 500,
        poll_interval_s: float = 1.0,
        publish_timeout_s: float = 2.0,
    ) -> None:
        self.db = db
        self.js = js
        self.libpq_url = libpq_url
        self.batch_size = batch_size
        self.poll_interval_s = poll_interval_s
        self.publish_timeout_s = publish_timeout_s
        self.lock_key = zlib.crc32(f"erp-outbox-relay:{db.service}".encode())
        self.published_total = 0
        self.backlog_every_s = 1.0
        self._backlog_at = 0.0
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set; survives database and NATS outages."""
        while not stop.is_set():
            try:
                await self._run_connected(stop)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("outbox relay for %s lost its database connection: %s", self.db.service, exc)
                await _sleep_or_stop(stop, 1.0)

    async def _run_connected(self, stop: asyncio.Event) -> None:
        conn = await asyncpg.connect(self.libpq_url, **self.db.settings.pg_connect_kwargs())
        try:
            await conn.add_listener(OUTBOX_CHANNEL, lambda *_: self._wake.set())
            while not stop.is_set():
                if await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.lock_key):
                    break
                await self.report_backlog(conn)
                await _sleep_or_stop(stop, self.poll_interval_s)
            failures = 0
            while not stop.is_set():
                self._wake.clear()
                sent, complete = await self.publish_pending()
                await self.report_backlog(conn)
                if not complete:
                    failures += 1
                    await _sleep_or_stop(stop, min(0.2 * 2**failures, 5.0))
                    continue
                failures = 0
                if sent >= self.batch_size:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wait_wake_or_stop(stop), self.poll_interval_s)
        finally:
            await conn.close(timeout=2)

    async def report_backlog(self, conn: asyncpg.Connection, *, force: bool = False) -> None:
        """Set the backlog gauges from the table (throttled to once per `backlog_every_s`)."""
        now = time.monotonic()
        if not force and now - self._backlog_at < self.backlog_every_s:
            return
        self._backlog_at = now
        row = await conn.fetchrow(
            "SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age "
            "FROM outbox WHERE published_at IS NULL"
        )
        metrics.OUTBOX_BACKLOG.labels(self.db.service).set(int(row["n"]))
        metrics.OUTBOX_OLDEST.labels(self.db.service).set(float(row["age"]))

    async def _wait_wake_or_stop(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def publish_pending(self) -> tuple[int, bool]:
        """Publish one batch; returns (rows sent, whether every row of the batch went out)."""
        async with self.db.read() as session:
            rows = (
                await session.execute(
                    select(OUTBOX.c.id, OUTBOX.c.subject, OUTBOX.c.aggregate_id, OUTBOX.c.payload, OUTBOX.c.headers)
                    .where(OUTBOX.c.published_at.is_(None))
                    .order_by(OUTBOX.c.id)
                    .limit(self.batch_size)
                )
            ).all()
        if not rows:
            return 0, True
        chains: dict[str, list[Any]] = defaultdict(list)
        for row in rows:
            chains[row.aggregate_id].append(row)
        results = await asyncio.gather(*(self._publish_chain(chain) for chain in chains.values()))
        sent_ids = [i for ids in results for i in ids]
        if sent_ids:
            async with self.db.unit_of_work() as uow:
                await uow.session.execute(
                    update(OUTBOX).where(OUTBOX.c.id.in_(sent_ids)).values(published_at=func.now())
                )
            self.published_total += len(sent_ids)
            metrics.OUTBOX_PUBLISHED.labels(self.db.service).inc(len(sent_ids))
        return len(sent_ids), len(sent_ids) == len(rows)

    async def _publish_chain(self, chain: list[Any]) -> list[int]:
        sent: list[int] = []
        for row in chain:
            try:
                await self.js.publish(
                    row.subject, bytes(row.payload), timeout=self.publish_timeout_s, headers=dict(row.headers)
                )
            except Exception as exc:  # NATS down, slow or restarting: retried next round
                log.debug("publish of outbox row %s failed: %r", row.id, exc)
                break
            sent.append(row.id)
        return sent


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
