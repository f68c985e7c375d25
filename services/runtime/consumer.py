"""Durable JetStream pull consumers with idempotent handlers and a dead-letter subject.

For each message: decode, then in ONE transaction insert its `processed_events` row (a
conflict means it was applied before: skip) and run the handler; commit; then ack. A
redelivery after a crash between commit and ack finds the row and has no second effect.
A failing handler is retried with backoff; after `max_deliveries` attempts the message goes to
`<root>.dlq.<service>` with the error, is acked, and can be replayed with `erp dlq replay`.
Every `lag_every_s` the consumer reports its lag, redeliveries and dead letters (metrics.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from sqlalchemy.dialects.postgresql import insert as pg_insert

from services.runtime import metrics, tracing
from services.runtime.db import Database, UnitOfWork
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
from services.runtime.tables import PROCESSED_EVENTS

log = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, ReceivedEvent], Awaitable[dict[str, Any] | None]]

H_DLQ_ERROR = "erp-dlq-error"
H_DLQ_SUBJECT = "erp-dlq-original-subject"
H_DLQ_CONSUMER = "erp-dlq-consumer"
H_DLQ_DELIVERIES = "erp-dlq-deliveries"


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
        batch_size: int = 100,
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
            for msg in msgs:
                await self.handle(msg)
        with contextlib.suppress(Exception):
            await sub.unsubscribe()

    async def handle(self, msg: Msg) -> None:
        headers = dict(msg.headers or {})
        try:
            event = decode(headers, msg.data)
        except UnknownEvent as exc:
            log.warning("skipping undecodable message on %s: %s", msg.subject, exc)
            await msg.ack()
            return
        handler = self.handlers.get(event.event_type)
        if handler is None:
            await msg.ack()
            return
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
