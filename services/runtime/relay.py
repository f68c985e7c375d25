"""The outbox relay: publishes committed outbox rows to JetStream and marks them sent.

- Wakes on `NOTIFY erp_outbox` (sent by every unit of work that recorded events) or on a poll.
- One relay per database publishes at a time: a session-level advisory lock is the lease, so
  replicas of a service never double-publish (a crashed leader's lock dies with its connection).
  The lease connection also reads the batch and marks it sent: a relay that lost its lease
  cannot mark anything.
- A batch is read with one cheap query (the partial index on unsent rows), published with
  `publish_async` (pipelined on the service's one NATS connection: no request/reply round trip
  per row, acks resolved from one reply subscription), the acks are awaited together, and
  exactly the acked rows are marked sent with one `UPDATE ... WHERE id = ANY($1)`.
- The event id is the `Nats-Msg-Id`, so a row re-published after a crash between the ack and
  the UPDATE (or whose ack was lost) is dropped by JetStream's duplicate window; consumers are
  idempotent anyway.
- Order per aggregate is kept strictly: a batch goes out in waves; the first wave holds the
  first unsent row of every aggregate in the batch (in id order), the next wave the following
  row of each aggregate whose previous row was acked, and so on. So a row is published only
  once JetStream has stored its predecessor, and a failed row (no ack within
  `publish_timeout_s`, an error, NATS away) stops its aggregate for this round: it and every
  later row of that aggregate stay unsent for the next round, while other aggregates go on.
  Pipelining an aggregate's rows in one go would not be enough: when the connection drops, a
  row already written to the dying socket is lost while the next one, still in the client's
  reconnect buffer, is stored after the reconnect: the stream would hold them out of order.
  Batches of distinct aggregates (the usual case: one event per new record) go out in one wave.
  A row whose ack was merely late may have been stored: re-published next round with the same
  `Nats-Msg-Id`, it is de-duplicated by JetStream within the duplicate window.
- Each loop (at most once a second) it sets the backlog and oldest-unsent-age gauges; a replica
  waiting for the lease reports them too (aggregate replicas with `max`).
- Rows restored as unpublished by a database restore keep their event id: re-publishing them is
  dropped by JetStream within the duplicate window and skipped by consumers after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import asyncpg
from nats.js import JetStreamContext
from nats.js.api import PubAck

from services.runtime import metrics
from services.runtime.db import OUTBOX_CHANNEL, Database

log = logging.getLogger(__name__)

# Served by the partial index idx_outbox_unpublished (id) WHERE published_at IS NULL.
SELECT_BATCH = (
    "SELECT id, subject, aggregate_id, payload, headers::text AS headers "
    "FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1"
)
SELECT_BATCH_AFTER = (
    "SELECT id, subject, aggregate_id, payload, headers::text AS headers "
    "FROM outbox WHERE published_at IS NULL AND id > $1 ORDER BY id LIMIT $2"
)
MARK_SENT = "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[]) AND published_at IS NULL"


@dataclass(frozen=True)
class _Row:
    id: int
    subject: str
    aggregate_id: str
    payload: bytes
    headers: dict[str, str]


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
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
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
                sent, complete = await self.publish_pending(conn)
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
        metrics.OUTBOX_OLDEST.labels(self.db.service).set(row["age"])  # a Decimal; the gauge converts it

    async def _wait_wake_or_stop(self, stop: asyncio.Event) -> None:
        waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def publish_pending(self, conn: asyncpg.Connection) -> tuple[int, bool]:
        """Publish the backlog batch by batch, for at most about `backlog_every_s`; returns (rows
        sent, whether every row went out). Batches are read and marked on the lease connection
        `conn`, overlapped with publishing: the next batch (ids after this one) is read while this
        one's acks are awaited, and this one is marked sent while the next is published. The next
        batch is published only once every row of this one was acked (per-aggregate order across
        batches); after an incomplete batch the read-ahead is dropped and the round ends."""
        lock = asyncio.Lock()  # one query at a time on `conn`
        deadline = time.monotonic() + self.backlog_every_s
        in_flight: list[asyncio.Task[Any]] = []  # reads ahead and marks
        sent = 0
        complete = True
        try:
            rows = await self._read(conn, lock, None)
            while rows:
                ahead: asyncio.Task[list[_Row]] | None = None
                if len(rows) >= self.batch_size and time.monotonic() < deadline:
                    ahead = asyncio.create_task(self._read(conn, lock, rows[-1].id))
                    in_flight.append(ahead)
                acked = await self.publish_rows(rows)
                if acked:
                    in_flight.append(asyncio.create_task(self._mark(conn, lock, acked)))
                    sent += len(acked)
                if len(acked) < len(rows):
                    complete = False  # what was read ahead waits for the next round
                    break
                rows = await ahead if ahead is not None else []
        finally:
            outcomes = await asyncio.gather(*in_flight, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return sent, complete

    async def _read(self, conn: asyncpg.Connection, lock: asyncio.Lock, after: int | None) -> list[_Row]:
        async with lock:
            records = await (
                conn.fetch(SELECT_BATCH, self.batch_size)
                if after is None
                else conn.fetch(SELECT_BATCH_AFTER, after, self.batch_size)
            )
        return [
            _Row(r["id"], r["subject"], r["aggregate_id"], bytes(r["payload"]), json.loads(r["headers"]))
            for r in records
        ]

    async def _mark(self, conn: asyncpg.Connection, lock: asyncio.Lock, ids: list[int]) -> int:
        """Mark exactly the acked rows sent (one statement, the ids as one array parameter)."""
        async with lock:
            await conn.execute(MARK_SENT, ids)
        self.published_total += len(ids)
        metrics.OUTBOX_PUBLISHED.labels(self.db.service).inc(len(ids))
        return len(ids)

    async def publish_rows(self, rows: list[_Row]) -> list[int]:
        """Publish `rows` (in id order) wave by wave; returns the ids JetStream acknowledged.

        Every wave is pipelined (all of its publishes written, then the acks awaited together,
        at most `publish_timeout_s`); a row's successor in its aggregate joins the next wave only
        once the row was acked, and an aggregate whose row failed is done for this round."""
        chains: dict[str, list[_Row]] = defaultdict(list)
        for row in rows:
            chains[row.aggregate_id].append(row)
        position = {aggregate: 0 for aggregate in chains}
        wave = [chain[0] for chain in chains.values()]
        acked: list[int] = []
        while wave:
            futures, complete = await self._send(wave)
            if futures:
                await asyncio.wait(futures.keys(), timeout=self.publish_timeout_s)
            following: list[_Row] = []
            for future, row in futures.items():
                if not _acked(future):
                    log.debug("publish of outbox row %s failed: %r", row.id, _failure(future))
                    future.cancel()  # frees its publish_async slot; a late ack is ignored
                    continue
                acked.append(row.id)
                chain = chains[row.aggregate_id]
                position[row.aggregate_id] += 1
                if position[row.aggregate_id] < len(chain):
                    following.append(chain[position[row.aggregate_id]])
            if not complete:
                break  # NATS refused new publishes: the rest waits for the next round
            wave = sorted(following, key=lambda r: r.id)
        return acked

    async def _send(self, wave: list[_Row]) -> tuple[dict[asyncio.Future[PubAck], _Row], bool]:
        """publish_async every row of `wave` in order; stops at the first publish that raises
        (connection closed, reconnect buffer full). No `wait_stall` (a timer per message): every
        future is resolved or cancelled before the round ends and a wave is at most a batch, so
        nats-py's pending-ack slots (4,000) never run out."""
        futures: dict[asyncio.Future[PubAck], _Row] = {}
        for row in wave:
            try:
                future = await self.js.publish_async(row.subject, row.payload, headers=row.headers)
            except Exception as exc:  # NATS down, slow or restarting: retried next round
                log.debug("publish of outbox row %s failed: %r", row.id, exc)
                self._release_orphans(futures)
                return futures, False
            futures[future] = row
        return futures, True

    def _release_orphans(self, ours: dict[asyncio.Future[PubAck], _Row]) -> None:
        """nats-py registers publish_async's ack future (and takes one of its pending slots)
        before writing the message; when the write raises, that future is never resolved nor
        returned. Cancel such unresolved futures so the slots are not leaked (the relay is the
        only publish_async user of its JetStream context)."""
        registered: dict[str, asyncio.Future[PubAck]] = getattr(self.js, "_publish_async_futures", {})
        for future in list(registered.values()):
            if future not in ours and not future.done():
                future.cancel()


def _acked(future: asyncio.Future[PubAck]) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


def _failure(future: asyncio.Future[PubAck]) -> BaseException | str:
    if not future.done():
        return "no ack in time"
    if future.cancelled():
        return "cancelled"
    return future.exception() or "?"


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
