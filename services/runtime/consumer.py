"""Durable JetStream pull consumers with idempotent handlers and a dead-letter subject.

A fetched batch is applied in ONE transaction: events already in `processed_events` are
skipped (one query for the batch), every other event's handler runs in a SAVEPOINT of its own
(a handler that raises rolls back only that savepoint), and at the end the batch writes, one
statement per table, the `processed_events` rows of the applied events (with their results)
and the event_store + outbox rows of the events their handlers recorded (each built in its
event's call context: correlation, causation, trace), then one NOTIFY; it commits once, then
acks the applied messages. A redelivery after a crash between commit and ack finds the row and
has no second effect. An event applied meanwhile by a concurrent delivery makes the
processed_events insert fail, so the batch is undone rather than applied twice.
A failing handler's message is nak'ed with backoff after the commit; after `max_deliveries`
attempts it goes to `<root>.dlq.<service>` with the error, is acked, and can be replayed with
`erp dlq replay`. If the batch cannot commit (a deferred constraint, a concurrent delivery, the
database going away), nothing of it was applied: each of its events is applied again alone, in
a transaction of its own (`apply`: processed_events row claimed first, then the handler), and
acked, nak'ed or dead-lettered on its own, so one bad event cannot hold back the others. A
batch of one takes that single-event path directly.
A `BatchedHandler` also has a `many` form: consecutive events of a batch that share it are
given to `many` at once, in one savepoint, so a handler can apply a hundred events with a
handful of statements instead of a handful per event. `many` answers each event's result, or
`DEFER` for an event it leaves to the one-event form (anything unusual: a duplicate, a
rejection); deferred events are applied after the others, each in its savepoint. If `many`
raises, its savepoint is undone and every event of the run is applied one at a time.
Every `lag_every_s` the consumer reports its lag, redeliveries and dead letters (metrics.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from sqlalchemy import Table, insert, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import TextClause

from services.runtime import metrics, tracing
from services.runtime.db import OUTBOX_CHANNEL, Database, UnitOfWork
from services.runtime.events import (
    H_ID,
    H_MSG_ID,
    ReceivedEvent,
    UnknownEvent,
    decode,
    dlq_stream_name,
    dlq_subject,
    service_of,
    stream_name,
)
from services.runtime.tables import EVENT_STORE, OUTBOX, PROCESSED_EVENTS

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, ReceivedEvent], Awaitable[dict[str, Any] | None]]


class Deferred:
    """The answer of a `many` handler for an event it leaves to the one-event form."""

    def __repr__(self) -> str:
        return "DEFER"


DEFER = Deferred()
Result = dict[str, Any] | None
ManyHandler = Callable[[Sequence[tuple[UnitOfWork, ReceivedEvent]]], Awaitable[Sequence[Result | Deferred]]]


@dataclass(frozen=True)
class BatchedHandler:
    """A handler with a form for one event (also what a redelivery or `erp dlq replay` runs)
    and a form for several consecutive events of a fetched batch. Both must have the same
    effect as applying the events one by one, in order; `many` records each event's events
    in that event's own unit of work."""

    one: Handler
    many: ManyHandler

    async def __call__(self, uow: UnitOfWork, event: ReceivedEvent) -> Result:
        return await self.one(uow, event)


H_DLQ_ERROR = "erp-dlq-error"
H_DLQ_SUBJECT = "erp-dlq-original-subject"
H_DLQ_CONSUMER = "erp-dlq-consumer"
H_DLQ_DELIVERIES = "erp-dlq-deliveries"

Work = tuple[Msg, ReceivedEvent, Handler]


def backoff_s(deliveries: int) -> float:
    return min(0.25 * 2.0 ** max(deliveries - 1, 0), 10.0)


class EventConsumer:
    """All of one service's subscriptions: one durable consumer per source stream."""

    def __init__(
        self,
        service: str,
        db: Database,
        js: JetStreamContext,
        handlers: dict[str, Handler],
        *,
        subject_root: str,
        max_deliveries: int = 5,
        batch_size: int = 250,
        ack_wait_s: float = 30.0,
    ) -> None:
        self.service = service
        self.db = db
        self.js = js
        self.handlers = handlers
        self.root = subject_root
        self.max_deliveries = max_deliveries
        self.batch_size = batch_size
        self.ack_wait_s = ack_wait_s
        self.applied = 0
        self.dead_lettered = 0
        self.lag_every_s = 5.0

    def durable_name(self) -> str:
        return self.service

    async def ensure_consumers(self) -> list[str]:
        """Create the durable consumers explicitly (idempotent); returns the source streams."""
        sources = sorted({service_of(t) for t in self.handlers})
        streams = []
        for source in sources:
            stream = stream_name(self.root, source)
            await self.js.add_consumer(
                stream,
                ConsumerConfig(
                    durable_name=self.durable_name(),
                    ack_policy=AckPolicy.EXPLICIT,
                    deliver_policy=DeliverPolicy.ALL,
                    filter_subject=f"{self.root}.{source}.>",
                    ack_wait=self.ack_wait_s,
                    max_deliver=-1,
                    max_ack_pending=10000,
                ),
            )
            streams.append(stream)
        return streams

    async def run(self, stop: asyncio.Event) -> None:
        streams = await self.ensure_consumers()
        await asyncio.gather(*(self._loop(stream, stop) for stream in streams), self._report_lag(streams, stop))

    async def report_lag(self, streams: list[str]) -> None:
        """Consumer lag and redeliveries per source stream, dead letters of this consumer."""
        for stream in streams:
            info = await self.js.consumer_info(stream, self.durable_name())
            metrics.CONSUMER_PENDING.labels(self.service, stream).set(info.num_pending or 0)
            metrics.CONSUMER_ACK_PENDING.labels(self.service, stream).set(info.num_ack_pending or 0)
            metrics.CONSUMER_REDELIVERED.labels(self.service, stream).set(info.num_redelivered or 0)
        subject = dlq_subject(self.root, self.service)
        try:
            dlq = await self.js.stream_info(dlq_stream_name(self.root), subjects_filter=subject)
        except NotFoundError:
            return
        metrics.DEAD_LETTERS.labels(self.service).set((dlq.state.subjects or {}).get(subject, 0))

    async def _report_lag(self, streams: list[str], stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.report_lag(streams)
            except Exception as exc:  # NATS briefly unavailable: report next time
                log.debug("consumer lag of %s not available: %r", self.service, exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.lag_every_s)

    async def _loop(self, stream: str, stop: asyncio.Event) -> None:
        sub = await self.js.pull_subscribe_bind(self.durable_name(), stream)
        while not stop.is_set():
            try:
                msgs = await sub.fetch(self.batch_size, timeout=1.0)
            except TimeoutError:
                continue
            except Exception as exc:  # connection trouble: the client reconnects by itself
                log.warning("fetch from %s failed: %r", stream, exc)
                await asyncio.sleep(0.5)
                continue
            await self.handle_batch(msgs)
        with contextlib.suppress(Exception):
            await sub.unsubscribe()

    async def handle(self, msg: Msg) -> None:
        """Apply one message in its own transaction, then ack (or nak / dead-letter)."""
        work = await self._decode(msg)
        if work is not None:
            await self._handle_one(*work)

    async def handle_batch(self, msgs: Sequence[Msg]) -> None:
        """Apply a fetched batch in one transaction (a savepoint per event), commit, then ack
        the applied messages and nak or dead-letter the failed ones."""
        work = [w for w in [await self._decode(msg) for msg in msgs] if w is not None]
        if len(work) <= 1:
            for one in work:
                await self._handle_one(*one)
            return
        try:
            outcomes = await self.apply_batch([(event, handler) for _, event, handler in work])
        except Exception as exc:  # the batch did not commit: nothing of it was applied
            log.warning(
                "%s could not commit a batch of %d events (%s: %s); applying them one by one",
                self.service,
                len(work),
                type(exc).__name__,
                exc,
            )
            for one in work:
                await self._handle_one(*one)
            return
        for (msg, event, _), outcome in zip(work, outcomes, strict=True):
            if isinstance(outcome, Exception):
                await self._failed(msg, event, outcome)
                continue
            metrics.CONSUMER_EVENTS.labels(self.service, "applied" if outcome else "duplicate").inc()
            await msg.ack()

    async def _decode(self, msg: Msg) -> Work | None:
        """The event and its handler; messages that cannot be decoded or that no handler
        wants are acked here (None)."""
        headers = dict(msg.headers or {})
        try:
            event = decode(headers, msg.data)
        except UnknownEvent as exc:
            log.warning("skipping undecodable message on %s: %s", msg.subject, exc)
            await msg.ack()
            return None
        handler = self.handlers.get(event.event_type)
        if handler is None:
            await msg.ack()
            return None
        return msg, event, handler

    async def _handle_one(self, msg: Msg, event: ReceivedEvent, handler: Handler) -> None:
        try:
            applied = await self.apply(event, handler)
        except Exception as exc:
            await self._failed(msg, event, exc)
            return
        metrics.CONSUMER_EVENTS.labels(self.service, "applied" if applied else "duplicate").inc()
        await msg.ack()

    async def apply(self, event: ReceivedEvent, handler: Handler) -> bool:
        """Apply once: returns False when the event had already been processed."""
        with tracing.continued(event.call_context(), f"process {event.event_type}", tracing.SpanKind.CONSUMER):
            async with self.db.unit_of_work() as uow:
                claimed = await uow.session.execute(
                    pg_insert(PROCESSED_EVENTS)
                    .values(
                        event_id=event.event_id,
                        event_type=event.event_type,
                        source_service=event.source_service,
                    )
                    .on_conflict_do_nothing(index_elements=["event_id"])
                    .returning(PROCESSED_EVENTS.c.event_id)
                )
                if claimed.first() is None:
                    return False
                result = await handler(uow, event)
                if result:
                    await uow.session.execute(
                        PROCESSED_EVENTS.update()
                        .where(PROCESSED_EVENTS.c.event_id == event.event_id)
                        .values(result=result)
                    )
        self.applied += 1
        return True

    async def apply_batch(self, work: Sequence[tuple[ReceivedEvent, Handler]]) -> list[bool | Exception]:
        """Apply events in one transaction, each handler in a savepoint; per event: True
        (applied), False (applied before) or the exception its handler raised (its savepoint
        rolled back). Raises when the transaction itself fails (then nothing was applied)."""
        outcomes: list[bool | Exception] = [False] * len(work)
        async with self.db.unit_of_work() as batch:
            session = batch.session
            writes = _BatchWrites(session)
            done = await _already_processed(session, [event.event_id for event, _ in work])
            pending: list[tuple[int, ReceivedEvent, Handler]] = []
            for i, (event, handler) in enumerate(work):
                if event.event_id not in done:  # a repeated event in the batch: its first copy applies
                    done.add(event.event_id)
                    pending.append((i, event, handler))
            for run in _runs(pending):
                handler = run[0][2]
                one_by_one = run
                if isinstance(handler, BatchedHandler) and len(run) > 1:
                    one_by_one = await self._apply_many(writes, run, handler, outcomes)
                for i, event, one in one_by_one:
                    outcomes[i] = await self._apply_in_savepoint(writes, event, one)
                    await _fresh(session)
            await writes.write()
        self.applied += sum(1 for outcome in outcomes if outcome is True)
        return outcomes

    async def _apply_many(
        self,
        writes: _BatchWrites,
        run: list[tuple[int, ReceivedEvent, Handler]],
        handler: BatchedHandler,
        outcomes: list[bool | Exception],
    ) -> list[tuple[int, ReceivedEvent, Handler]]:
        """`handler.many` over a run of events in one savepoint; stages the events it applied
        (their outcome True) and returns those to apply one by one: the deferred ones, or the
        whole run if `many` raised (its savepoint undone)."""
        session = writes.session
        uows = [UnitOfWork(session, self.db.settings.subject_root) for _ in run]
        try:
            async with session.begin_nested():
                results = await handler.many([(uow, event) for uow, (_, event, _) in zip(uows, run, strict=True)])
            if len(results) != len(run):
                raise AssertionError(f"{len(results)} results for {len(run)} events")
        except Exception as exc:
            log.info("%s applies %d events one by one (%s: %s)", self.service, len(run), type(exc).__name__, exc)
            await _fresh(session)
            return run
        await _fresh(session)
        deferred: list[tuple[int, ReceivedEvent, Handler]] = []
        for uow, (i, event, _), result in zip(uows, run, results, strict=True):
            if isinstance(result, Deferred):
                deferred.append((i, event, handler.one))
                continue
            with tracing.continued(event.call_context(), f"process {event.event_type}", tracing.SpanKind.CONSUMER):
                await writes.stage(uow, event, result)
            outcomes[i] = True
        return deferred

    async def _apply_in_savepoint(
        self, writes: _BatchWrites, event: ReceivedEvent, handler: Handler
    ) -> bool | Exception:
        """The handler in a savepoint (undone if it raises); then its processed_events row and
        the events it recorded are staged (in this event's call context) for the batch's end.
        From then on the event's effects are in the transaction: a failure there raises, so
        the whole batch is undone rather than committed without its processed_events row."""
        session = writes.session
        with tracing.continued(event.call_context(), f"process {event.event_type}", tracing.SpanKind.CONSUMER):
            uow = UnitOfWork(session, self.db.settings.subject_root)
            try:
                async with session.begin_nested():
                    result = await handler(uow, event)
            except Exception as exc:
                return exc
            await writes.stage(uow, event, result)
        return True

    async def _failed(self, msg: Msg, event: ReceivedEvent, exc: Exception) -> None:
        deliveries = msg.metadata.num_delivered or 1
        if deliveries < self.max_deliveries:
            log.warning(
                "%s failed on %s %s (delivery %d): %s",
                self.service,
                event.event_type,
                event.event_id,
                deliveries,
                type(exc).__name__,
            )
            metrics.CONSUMER_EVENTS.labels(self.service, "failed").inc()
            await msg.nak(delay=backoff_s(deliveries))
            return
        log.error("%s dead-letters %s %s: %r", self.service, event.event_type, event.event_id, exc)
        headers = dict(event.headers)
        headers.update(
            {
                H_MSG_ID: f"dlq.{self.service}.{headers.get(H_ID, event.event_id)}",
                H_DLQ_ERROR: f"{type(exc).__name__}: {exc}"[:1000],
                H_DLQ_SUBJECT: msg.subject,
                H_DLQ_CONSUMER: self.service,
                H_DLQ_DELIVERIES: str(deliveries),
            }
        )
        await self.js.publish(dlq_subject(self.root, self.service), msg.data, headers=headers)
        self.dead_lettered += 1
        metrics.CONSUMER_EVENTS.labels(self.service, "dead_lettered").inc()
        await msg.ack()


def _runs(pending: list[tuple[int, ReceivedEvent, Handler]]) -> Iterator[list[tuple[int, ReceivedEvent, Handler]]]:
    """Consecutive events sharing one handler."""
    run: list[tuple[int, ReceivedEvent, Handler]] = []
    for item in pending:
        if run and item[2] is not run[0][2]:
            yield run
            run = []
        run.append(item)
    if run:
        yield run


async def _fresh(session: AsyncSession) -> None:
    """The next handler reads afresh, as in a transaction of its own."""
    session.expunge_all()
    _restart_savepoint_names(await session.connection())


def _restart_savepoint_names(connection: AsyncConnection) -> None:
    """SQLAlchemy names savepoints `sa_savepoint_<n>`, n counting up per connection: in a batch
    every savepoint would be a new statement text for asyncpg's prepared-statement cache (a
    prepare round trip each, and the cache's useful statements evicted). Between two events no
    savepoint is open, so the numbering may start again."""
    sync = connection.sync_connection
    if sync is not None and hasattr(sync, "_Connection__savepoint_seq"):
        setattr(sync, "_Connection__savepoint_seq", 0)  # noqa: B010 (a private, name-mangled counter)


class _BatchWrites:
    """What a batch writes at its end, one statement per table: the processed_events rows of
    its applied events (no ON CONFLICT: an event applied concurrently by another delivery makes
    the batch fail, and its events are then applied one by one, where that one is a duplicate),
    their events' event_store and outbox rows, and one NOTIFY.

    It also stands in for the session while a handler's unit of work flushes its events
    (UnitOfWork._flush_events, run in that event's call context): the event_store and outbox
    inserts and the NOTIFY are kept; any other statement (the version look-up of unversioned
    events) first writes what is kept, so it sees this batch's earlier events, then runs."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.processed: list[dict[str, Any]] = []
        self.kept: dict[Table, list[dict[str, Any]]] = {EVENT_STORE: [], OUTBOX: []}
        self.notify = False

    async def stage(self, uow: UnitOfWork, event: ReceivedEvent, result: Result) -> None:
        """The event's processed_events row and the events its handler recorded, kept for the
        batch's end (call in the event's call context: the events are built in it)."""
        self.processed.append(
            {
                "event_id": event.event_id,
                "event_type": event.event_type,
                "source_service": event.source_service,
                "result": result,
            }
        )
        uow.session = cast(AsyncSession, self)  # the flush's inserts are kept for the batch's end
        await uow._flush_events()

    async def execute(self, statement: Any, params: Any = None) -> Any:
        if isinstance(statement, Insert) and statement.table in self.kept and isinstance(params, list):
            self.kept[cast(Table, statement.table)].extend(params)
            return None
        if isinstance(statement, TextClause) and statement.text.strip().upper() == f"NOTIFY {OUTBOX_CHANNEL}".upper():
            self.notify = True
            return None
        await self._write_kept()
        return await self.session.execute(statement, params)

    async def _write_kept(self) -> None:
        for table, rows in self.kept.items():
            if rows:
                await self.session.execute(insert(table), rows)
                rows.clear()

    async def write(self) -> None:
        if self.processed:
            await self.session.execute(
                INSERT_PROCESSED,
                {
                    "ids": [row["event_id"] for row in self.processed],
                    "types": [row["event_type"] for row in self.processed],
                    "sources": [row["source_service"] for row in self.processed],
                    "results": [json.dumps(row["result"]) if row["result"] else None for row in self.processed],
                },
            )
            self.processed.clear()
        await self._write_kept()
        if self.notify:
            await self.session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))
            self.notify = False


INSERT_PROCESSED = text(
    "INSERT INTO processed_events (event_id, event_type, source_service, result) "
    "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS text[]), CAST(:sources AS text[]), "
    "CAST(:results AS jsonb[]))"
)
ALREADY_PROCESSED = text("SELECT event_id FROM processed_events WHERE event_id = ANY(CAST(:ids AS uuid[]))")


async def _already_processed(session: AsyncSession, event_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    rows = await session.execute(ALREADY_PROCESSED, {"ids": event_ids})
    return {row[0] for row in rows}
