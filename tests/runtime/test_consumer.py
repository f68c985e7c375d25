"""Consumers apply each event once (redelivery, duplicates) and dead-letter what keeps failing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from erp.employee.v1 import events_pb2 as ev
from nats.aio.client import Client
from sqlalchemy import text

from services.runtime import dlq
from services.runtime.consumer import EventConsumer
from services.runtime.context import CallContext
from services.runtime.db import Database, UnitOfWork
from services.runtime.events import ReceivedEvent, build_headers, event_subject
from services.runtime.settings import Settings
from tests.runtime.helpers import eventually, scratch_database

EVENT_TYPE = "erp.employee.v1.DepartmentCreated"


class Recorder:
    """A handler that writes one `effects` row per application; fails for chosen names."""

    def __init__(self) -> None:
        self.failing: set[str] = set()
        self.calls = 0

    async def __call__(self, uow: UnitOfWork, event: ReceivedEvent) -> dict[str, Any]:
        self.calls += 1
        msg = event.message
        assert isinstance(msg, ev.DepartmentCreated)
        if msg.name in self.failing:
            raise RuntimeError(f"cannot apply {msg.name}")
        await uow.session.execute(
            text("INSERT INTO effects (event_id, note) VALUES (:id, :note)"), {"id": event.event_id, "note": msg.name}
        )
        return {"applied": msg.name}


@pytest.fixture(scope="module")
async def consumer_db(settings: Settings) -> AsyncIterator[Database]:
    db = await scratch_database(settings, "consumer_test")
    yield db
    await db.dispose()


@pytest.fixture(scope="module")
async def running_consumer(
    consumer_db: Database, nats_client: Client, settings: Settings
) -> AsyncIterator[tuple[EventConsumer, Recorder]]:
    recorder = Recorder()
    consumer = EventConsumer(
        "consumertest",
        consumer_db,
        nats_client.jetstream(),
        {EVENT_TYPE: recorder},
        subject_root=settings.subject_root,
        max_deliveries=3,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    yield consumer, recorder
    stop.set()
    await asyncio.wait_for(task, 10)


async def publish(nats_client: Client, settings: Settings, name: str, *, event_id: uuid.UUID, msg_id: str) -> None:
    headers = build_headers(
        event_id=event_id,
        event_type=EVENT_TYPE,
        aggregate_id=str(event_id),
        ctx=CallContext(),
        occurred_at=datetime.now(UTC),
    )
    headers["Nats-Msg-Id"] = msg_id
    payload = ev.DepartmentCreated(department_id=str(event_id), name=name).SerializeToString()
    await nats_client.jetstream().publish(event_subject(settings.subject_root, EVENT_TYPE), payload, headers=headers)


async def effects_for(db: Database, event_id: uuid.UUID) -> int:
    async with db.read() as s:
        return int(
            (await s.execute(text("SELECT count(*) FROM effects WHERE event_id = :id"), {"id": event_id})).scalar_one()
        )


async def test_duplicate_delivery_is_applied_once(
    running_consumer: tuple[EventConsumer, Recorder], consumer_db: Database, nats_client: Client, settings: Settings
) -> None:
    _consumer, _recorder = running_consumer
    event_id = uuid.uuid4()
    # The same event arrives twice (e.g. re-published after the duplicate window) ...
    await publish(nats_client, settings, "twice", event_id=event_id, msg_id=f"{event_id}-a")
    await publish(nats_client, settings, "twice", event_id=event_id, msg_id=f"{event_id}-b")
    marker = uuid.uuid4()
    await publish(nats_client, settings, "marker", event_id=marker, msg_id=str(marker))
    await eventually(lambda: effects_for(consumer_db, marker))
    # ... and is applied once.
    assert await effects_for(consumer_db, event_id) == 1


async def test_redelivery_after_commit_has_no_second_effect(
    running_consumer: tuple[EventConsumer, Recorder], consumer_db: Database
) -> None:
    consumer, recorder = running_consumer
    event_id = uuid.uuid4()
    event = ReceivedEvent(
        event_id=event_id,
        event_type=EVENT_TYPE,
        source_service="employee",
        aggregate_id=str(event_id),
        message=ev.DepartmentCreated(department_id=str(event_id), name="crash-before-ack"),
        headers={},
    )
    # A crash between commit and ack means the broker delivers the event again.
    assert await consumer.apply(event, recorder) is True
    assert await consumer.apply(event, recorder) is False
    assert await effects_for(consumer_db, event_id) == 1


async def test_failing_handler_dead_letters_then_replays(
    running_consumer: tuple[EventConsumer, Recorder], consumer_db: Database, nats_client: Client, settings: Settings
) -> None:
    _consumer, recorder = running_consumer
    js = nats_client.jetstream()
    recorder.failing.add("poison")
    event_id = uuid.uuid4()
    await publish(nats_client, settings, "poison", event_id=event_id, msg_id=str(event_id))

    async def dead_lettered() -> list[dlq.DeadLetter]:
        return [d for d in await dlq.list_dead_letters(js, settings.subject_root) if d.event_id == str(event_id)]

    letters = await eventually(dead_lettered, timeout_s=30)
    assert letters[0].consumer == "consumertest"
    assert letters[0].deliveries == 3
    assert "cannot apply poison" in letters[0].error
    assert await effects_for(consumer_db, event_id) == 0

    recorder.failing.clear()  # the cause is fixed
    replayed = await dlq.replay(js, settings.subject_root, [letters[0].seq])
    assert [d.event_id for d in replayed] == [str(event_id)]
    await eventually(lambda: effects_for(consumer_db, event_id))
    assert await effects_for(consumer_db, event_id) == 1
    assert await dead_lettered() == []
