"""The event hub: one NATS subscription per event subject, fanned out to every GraphQL subscriber.

- A subject's feed is an ordered, ephemeral JetStream consumer (deliver new messages only; the
  client recreates it after a gap or a reconnect), opened when its first subscriber arrives and
  closed when its last one leaves: a thousand subscribers of a topic cost one consumer.
- Every subscriber has its own bounded queue. The feed never waits for a subscriber: when a
  queue is full the subscriber is dropped and told why (`on_overflow`, which closes its
  WebSocket), and the others keep receiving.
- Whether a subscriber wants an event is its own `accept` (its arguments); facts `accept` needs
  beyond the event (e.g. an employee's department) are computed once per event, whatever the
  number of subscribers asking (`Delivery.fact`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from services.runtime.events import ReceivedEvent, UnknownEvent, decode

log = logging.getLogger(__name__)

SLOW_CLOSE_CODE = 4408  # the WebSocket close code of a subscriber that did not keep up


class SlowSubscriber(Exception):
    """The subscriber's queue overflowed; it receives nothing more."""


class Delivery:
    """One event as every subscriber of its subject sees it."""

    def __init__(self, event: ReceivedEvent) -> None:
        self.event = event
        self._facts: dict[str, asyncio.Future[Any]] = {}

    async def fact(self, name: str, compute: Callable[[], Awaitable[Any]]) -> Any:
        """`compute()` once per event and name, shared by every subscriber asking."""
        if name not in self._facts:
            self._facts[name] = asyncio.ensure_future(compute())
        return await asyncio.shield(self._facts[name])


Accept = Callable[[Delivery], Awaitable[bool]]


class Subscriber:
    def __init__(
        self,
        hub: EventHub,
        subjects: tuple[str, ...],
        accept: Accept,
        queue_size: int,
        on_overflow: Callable[[str], Any],
    ) -> None:
        self.hub = hub
        self.subjects = subjects
        self.accept = accept
        self.queue: asyncio.Queue[Delivery] = asyncio.Queue(maxsize=queue_size)
        self.on_overflow = on_overflow
        self.closed_reason: str | None = None

    def offer(self, delivery: Delivery) -> None:
        if self.closed_reason is not None:
            return
        try:
            self.queue.put_nowait(delivery)
        except asyncio.QueueFull:
            self.closed_reason = (
                f"slow consumer: {self.queue.maxsize} events were waiting unread, the subscription is closed"
            )
            log.warning("closing a slow subscriber of %s: %s", ", ".join(self.subjects), self.closed_reason)
            self.hub.remove(self)
            self.on_overflow(self.closed_reason)

    def __aiter__(self) -> AsyncIterator[Delivery]:
        return self

    async def __anext__(self) -> Delivery:
        if self.closed_reason is not None:
            raise SlowSubscriber(self.closed_reason)
        return await self.queue.get()


class Feed:
    """One subject's NATS subscription and its subscribers."""

    def __init__(self, hub: EventHub, subject: str) -> None:
        self.hub = hub
        self.subject = subject
        self.subscribers: set[Subscriber] = set()
        self.nats_sub: Any = None
        self.lock = asyncio.Lock()

    async def start(self) -> None:
        async with self.lock:
            if self.nats_sub is not None:
                return
            self.nats_sub = await self.hub.open_subscription(self.subject, self.on_message)
            self.hub.opened[self.subject] += 1

    async def stop_if_unused(self) -> None:
        async with self.lock:
            if self.subscribers or self.nats_sub is None:
                return
            sub, self.nats_sub = self.nats_sub, None
            self.hub.closed[self.subject] += 1
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def on_message(self, msg: Msg) -> None:
        try:
            event = decode(dict(msg.headers or {}), msg.data)
        except UnknownEvent as exc:
            log.warning("undecodable message on %s: %s", msg.subject, exc)
            return
        self.hub.received[self.subject] += 1
        delivery = Delivery(event)
        for subscriber in list(self.subscribers):
            try:
                wanted = await subscriber.accept(delivery)
            except Exception:
                log.exception("subscriber filter failed on %s %s", event.event_type, event.event_id)
                continue
            if wanted:
                subscriber.offer(delivery)


Opener = Callable[[str, Callable[[Msg], Awaitable[None]]], Awaitable[Any]]


class EventHub:
    """The gateway process's subscriptions to the services' events (`<root>.<service>.<Event>`)."""

    def __init__(self, nc: Client | None, subject_root: str, queue_size: int = 100) -> None:
        self.nc = nc
        self.root = subject_root
        self.queue_size = queue_size
        self.feeds: dict[str, Feed] = {}
        self.opened: Counter[str] = Counter()  # NATS subscriptions opened, by subject
        self.closed: Counter[str] = Counter()
        self.received: Counter[str] = Counter()  # events received, by subject
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def available(self) -> bool:
        return self.nc is not None

    def subject(self, name: str) -> str:
        """`employee.EmployeeCreated` -> `<root>.employee.EmployeeCreated`."""
        return f"{self.root}.{name}"

    def nats_subscriptions(self) -> dict[str, int]:
        """Open NATS subscriptions by subject (at most one each)."""
        return {s: 1 for s, feed in self.feeds.items() if feed.nats_sub is not None}

    def subscriber_count(self, subject: str) -> int:
        feed = self.feeds.get(subject)
        return len(feed.subscribers) if feed else 0

    async def open_subscription(self, subject: str, cb: Callable[[Msg], Awaitable[None]]) -> Any:
        if self.nc is None:
            raise RuntimeError("no NATS connection")
        js = self.nc.jetstream()
        return await js.subscribe(subject, cb=cb, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW)

    async def subscribe(self, names: Iterable[str], accept: Accept, on_overflow: Callable[[str], Any]) -> Subscriber:
        """A subscriber of the events named (`employee.EmployeeCreated`, ...), receiving once
        every feed is open."""
        subjects = tuple(self.subject(n) for n in names)
        subscriber = Subscriber(self, subjects, accept, self.queue_size, on_overflow)
        feeds = [self.feeds.setdefault(s, Feed(self, s)) for s in subjects]
        for feed in feeds:
            feed.subscribers.add(subscriber)
        try:
            await asyncio.gather(*(feed.start() for feed in feeds))
        except BaseException:
            self.remove(subscriber)
            raise
        return subscriber

    def remove(self, subscriber: Subscriber) -> None:
        """Synchronous (safe in a cancelled generator's finally); feeds left without subscribers
        close their NATS subscription in the background."""
        for subject in subscriber.subjects:
            feed = self.feeds.get(subject)
            if feed is None or subscriber not in feed.subscribers:
                continue
            feed.subscribers.discard(subscriber)
            if not feed.subscribers:
                self.spawn(feed.stop_if_unused())

    def spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for feed in self.feeds.values():
            feed.subscribers.clear()
            await feed.stop_if_unused()
        for task in list(self._tasks):
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task
