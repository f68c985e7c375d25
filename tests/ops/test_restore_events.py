"""A restored database re-sends the outbox rows that were unpublished at backup time with their
ORIGINAL event ids: JetStream drops them (Nats-Msg-Id within the duplicate window) and a consumer
skips one that arrives after the window (processed_events). No event is published with a new id."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from erp.employee.v1 import events_pb2 as ev
from nats.aio.client import Client
from prometheus_client import REGISTRY
from sqlalchemy import func, select, text

from services.ops import backup
from services.ops.pgtools import Target
from services.ops.scratch import delete_streams
from services.runtime.consumer import EventConsumer
from services.runtime.db import Database, UnitOfWork
from services.runtime.events import H_ID, H_MSG_ID, ReceivedEvent, stream_name
from services.runtime.jetstream import ensure_streams
from services.runtime.relay import OutboxRelay
from services.runtime.settings import Settings, to_libpq_url
from services.runtime.tables import OUTBOX, PROCESSED_EVENTS
from tests.ops.helpers import drop_databases
from tests.runtime.helpers import eventually, scratch_database

EVENTS = 30


async def _count(db: Database, stmt: Any) -> int:
    async with db.read() as s:
        return int((await s.execute(stmt)).scalar_one())


async def _drain(db: Database, relay: OutboxRelay) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    try:
        unpublished = select(func.count()).select_from(OUTBOX).where(OUTBOX.c.published_at.is_(None))
        await eventually(lambda: _zero(db, unpublished))
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


async def _zero(db: Database, stmt: Any) -> bool:
    return await _count(db, stmt) == 0


async def test_restored_outbox_rows_keep_their_event_ids(
    settings: Settings, nats_client: Client, tmp_path: Path
) -> None:
    own = replace(
        settings, subject_root=f"{settings.subject_root}rs{secrets.token_hex(2)}", database_prefix="erptest_rs_"
    )
    js = nats_client.jetstream()
    await ensure_streams(js, own.subject_root)
    source = await scratch_database(own, "source")
    sink = await scratch_database(own, "sink")
    url = to_libpq_url(source.engine.url.render_as_string(hide_password=False))
    target = Target("source", f"{own.database_prefix}source", url)

    async def effect(uow: UnitOfWork, event: ReceivedEvent) -> None:
        await uow.session.execute(text("INSERT INTO effects (event_id) VALUES (:e)"), {"e": event.event_id})

    consumer = EventConsumer(
        "restored", sink, js, {"erp.employee.v1.DepartmentCreated": effect}, subject_root=own.subject_root
    )
    stop = asyncio.Event()
    consuming = asyncio.create_task(consumer.run(stop))
    try:
        ids = []
        for i in range(EVENTS):
            async with source.unit_of_work() as uow:
                agg = uuid.uuid4()
                ids.append(
                    uow.record(
                        ev.DepartmentCreated(department_id=str(agg), name=f"R{i}", code=f"R{i}"),
                        aggregate_type="Department",
                        aggregate_id=agg,
                    )
                )
        folder = await asyncio.to_thread(backup.backup, [target], tmp_path)  # all 30 still unpublished
        await _drain(source, OutboxRelay(source, js, url))
        stream = stream_name(own.subject_root, "employee")
        assert (await js.stream_info(stream)).state.messages == EVENTS
        effects = text("SELECT count(*) FROM effects")
        await eventually(lambda: _equals(sink, effects, EVENTS))

        await source.dispose()
        await asyncio.to_thread(backup.restore, folder, {"source": target}, force=True)
        source = Database(source.engine.url.render_as_string(hide_password=False), own, "source")
        async with source.read() as s:
            restored = (
                (await s.execute(select(OUTBOX.c.event_id).where(OUTBOX.c.published_at.is_(None)))).scalars().all()
            )
        assert sorted(restored) == sorted(ids)  # unpublished again, same ids

        await _drain(source, OutboxRelay(source, js, url))  # re-sent with the same Nats-Msg-Id ...
        assert (await js.stream_info(stream)).state.messages == EVENTS  # ... so JetStream dropped them
        seen = set()
        info = await js.stream_info(stream)
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            headers = (await js.get_msg(stream, seq)).headers or {}
            assert headers[H_MSG_ID] == headers[H_ID]
            seen.add(uuid.UUID(headers[H_ID]))
        assert seen == set(ids)

        # After the duplicate window JetStream would accept it again: the consumer skips it.
        labels = {"service": "restored", "outcome": "duplicate"}
        before = REGISTRY.get_sample_value("erp_consumer_events_total", labels) or 0.0
        async with source.read() as s:
            row = (await s.execute(select(OUTBOX).where(OUTBOX.c.event_id == ids[0]))).one()
        late = {**row.headers, H_MSG_ID: f"{row.event_id}.after-window"}
        await js.publish(row.subject, bytes(row.payload), headers=late)
        await eventually(
            lambda: _ge(lambda: REGISTRY.get_sample_value("erp_consumer_events_total", labels), before + 1)
        )
        assert await _count(sink, effects) == EVENTS
        assert await _count(sink, select(func.count()).select_from(PROCESSED_EVENTS)) == EVENTS
    finally:
        stop.set()
        await asyncio.wait_for(consuming, 10)
        await source.dispose()
        await sink.dispose()
        await delete_streams(own)
        await drop_databases(own)


async def _equals(db: Database, stmt: Any, n: int) -> bool:
    return await _count(db, stmt) == n


async def _ge(value: Any, n: float) -> bool:
    return bool((value() or 0.0) >= n)
