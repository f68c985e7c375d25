"""A fetched batch is applied in one transaction: a failing handler undoes only its own event,
duplicates are skipped, each event's outbox rows carry its own call context, and a batch that
cannot commit is applied again event by event."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from erp.employee.v1 import events_pb2 as ev
from nats.aio.client import Client
from nats.aio.msg import Msg
from sqlalchemy import text

from services.runtime.consumer import DEFER, BatchedHandler, Deferred, EventConsumer, Handler, Result
from services.runtime.context import CallContext
from services.runtime.db import Database, UnitOfWork
from services.runtime.events import H_CORRELATION, ReceivedEvent, build_headers
from services.runtime.settings import Settings
from tests.runtime.helpers import scratch_database

EVENT_TYPE = "erp.employee.v1.DepartmentCreated"


@pytest.fixture(scope="module")
async def batch_db(settings: Settings) -> AsyncIterator[Database]:
    db = await scratch_database(settings, "consumer_batch_test")
    async with db.engine.begin() as c:
        await c.exec_driver_sql("CREATE TABLE once (name text UNIQUE DEFERRABLE INITIALLY DEFERRED)")
    yield db
    await db.dispose()


@pytest.fixture
def consumer(batch_db: Database, nats_client: Client, settings: Settings) -> EventConsumer:
    return EventConsumer(
        "batchtest", batch_db, nats_client.jetstream(), {}, subject_root=settings.subject_root, max_deliveries=3
    )


async def handler(uow: UnitOfWork, event: ReceivedEvent) -> dict[str, Any]:
    """One `effects` row and one recorded event per application; `fail*` names raise, `once*`
    names also write a row that must be unique at COMMIT (a deferred constraint)."""
    msg = event.message
    assert isinstance(msg, ev.DepartmentCreated)
    await uow.session.execute(
        text("INSERT INTO effects (event_id, note) VALUES (:id, :note)"), {"id": event.event_id, "note": msg.name}
    )
    if msg.name.startswith("fail"):
        raise RuntimeError(f"cannot apply {msg.name}")
    if msg.name.startswith("once"):
        await uow.session.execute(text("INSERT INTO once (name) VALUES ('x')"))
    aggregate = uuid.uuid4()
    uow.record(
        ev.DepartmentCreated(department_id=str(aggregate), name=f"re-{msg.name}"),
        aggregate_type="Department",
        aggregate_id=aggregate,
    )
    return {"applied": msg.name}


def event(name: str, *, event_id: uuid.UUID | None = None) -> ReceivedEvent:
    event_id = event_id or uuid.uuid4()
    return ReceivedEvent(
        event_id=event_id,
        event_type=EVENT_TYPE,
        source_service="employee",
        aggregate_id=str(event_id),
        message=ev.DepartmentCreated(department_id=str(event_id), name=name),
        headers={H_CORRELATION: str(uuid.uuid4())},
    )


async def scalar(db: Database, sql: str, **params: Any) -> Any:
    async with db.read() as s:
        return (await s.execute(text(sql), params)).scalar_one()


async def effects(db: Database, event_id: uuid.UUID) -> int:
    return int(await scalar(db, "SELECT count(*) FROM effects WHERE event_id = :id", id=event_id))


async def test_failing_event_undoes_only_itself_and_duplicates_are_skipped(
    consumer: EventConsumer, batch_db: Database
) -> None:
    before = event("before")
    assert await consumer.apply(before, handler) is True  # applied by an earlier delivery
    first, failing, second = event("first"), event("fail-1"), event("second")
    again = event("first", event_id=first.event_id)  # the same event twice in one batch
    work: list[tuple[ReceivedEvent, Handler]] = [
        (first, handler),
        (failing, handler),
        (before, handler),
        (second, handler),
        (again, handler),
    ]
    outcomes = await consumer.apply_batch(work)
    assert outcomes[0] is True and outcomes[3] is True
    assert isinstance(outcomes[1], RuntimeError)
    assert outcomes[2] is False and outcomes[4] is False
    assert [await effects(batch_db, e.event_id) for e in (first, failing, before, second)] == [1, 0, 1, 1]
    results = await scalar(
        batch_db,
        "SELECT string_agg(result->>'applied', ',' ORDER BY result->>'applied') FROM processed_events "
        "WHERE event_id = ANY(CAST(:ids AS uuid[]))",
        ids=[first.event_id, failing.event_id, second.event_id],
    )
    assert results == "first,second"
    # Each recorded event carries the correlation of the event that caused it.
    for cause, name in ((first, "re-first"), (second, "re-second")):
        correlation = await scalar(
            batch_db,
            "SELECT o.headers->>'erp-correlation-id' FROM outbox o JOIN event_store s ON s.id = o.event_id "
            "WHERE s.event_data->>'name' = :name",
            name=name,
        )
        assert correlation == cause.headers[H_CORRELATION]
    assert await scalar(batch_db, "SELECT count(*) FROM outbox WHERE headers->>'ce-type' = :t", t=EVENT_TYPE) == 3


@dataclass
class FakeMsg:
    """What the consumer uses of a JetStream message."""

    data: bytes
    headers: dict[str, str]
    subject: str = "test"
    outcome: list[str] = field(default_factory=list)

    @dataclass
    class Metadata:
        num_delivered: int = 1

    metadata: Metadata = field(default_factory=Metadata)

    async def ack(self) -> None:
        self.outcome.append("ack")

    async def nak(self, delay: float | None = None) -> None:
        self.outcome.append("nak")


def fake(e: ReceivedEvent) -> FakeMsg:
    headers = build_headers(
        event_id=e.event_id,
        event_type=EVENT_TYPE,
        aggregate_id=e.aggregate_id,
        ctx=CallContext(),
        occurred_at=datetime.now(UTC),
    )
    return FakeMsg(e.message.SerializeToString(), headers)


async def test_batch_that_cannot_commit_is_applied_event_by_event(consumer: EventConsumer, batch_db: Database) -> None:
    consumer.handlers = {EVENT_TYPE: handler}
    # Both write the same deferred-unique row: each savepoint succeeds, the COMMIT fails.
    one, two, plain = event("once-a"), event("once-b"), event("plain")
    msgs = [fake(one), fake(two), fake(plain)]
    with pytest.raises(Exception, match="once"):
        await consumer.apply_batch([(one, handler), (two, handler), (plain, handler)])
    assert [await effects(batch_db, e.event_id) for e in (one, two, plain)] == [0, 0, 0]
    await consumer.handle_batch(cast(list[Msg], msgs))
    # Alone, the first and the plain one commit; the second fails at its COMMIT and is retried later.
    assert [m.outcome for m in msgs] == [["ack"], ["nak"], ["ack"]]
    assert [await effects(batch_db, e.event_id) for e in (one, two, plain)] == [1, 0, 1]


def batched(calls: list[list[str]], *, raise_in_many: bool = False) -> BatchedHandler:
    """`many` applies the events named `m*` itself (with the same effects as `handler`) and
    defers the others; with `raise_in_many` it writes one row and then raises."""

    async def many(items: Sequence[tuple[UnitOfWork, ReceivedEvent]]) -> list[Result | Deferred]:
        names = [cast(ev.DepartmentCreated, e.message).name for _, e in items]
        calls.append(names)
        results: list[Result | Deferred] = []
        for (uow, e), name in zip(items, names, strict=True):
            if raise_in_many:
                await uow.session.execute(
                    text("INSERT INTO effects (event_id, note) VALUES (:id, 'many')"), {"id": e.event_id}
                )
                raise RuntimeError("many cannot")
            results.append(await handler(uow, e) if name.startswith("m") else DEFER)
        return results

    return BatchedHandler(handler, many)


async def test_batched_handler_applies_a_run_at_once_and_defers_the_rest(
    consumer: EventConsumer, batch_db: Database
) -> None:
    calls: list[list[str]] = []
    both = batched(calls)
    m1, other, m2, failing, alone, m3 = (event(n) for n in ("m1", "other", "m2", "fail-d", "alone", "m3"))
    outcomes = await consumer.apply_batch(
        [(m1, both), (other, both), (m2, both), (failing, both), (alone, handler), (m3, both)]
    )
    # Runs of consecutive events sharing the handler: [m1, other, m2, fail-d] then [m3] (alone).
    assert calls == [["m1", "other", "m2", "fail-d"]]
    assert outcomes[:3] == [True, True, True] and outcomes[4:] == [True, True]
    assert isinstance(outcomes[3], RuntimeError)  # deferred to the one-event form, which raised
    assert [await effects(batch_db, e.event_id) for e in (m1, other, m2, failing, alone, m3)] == [1, 1, 1, 0, 1, 1]
    for cause in (m1, other, m2):  # each event's recorded events carry its own correlation
        correlation = await scalar(
            batch_db,
            "SELECT o.headers->>'erp-correlation-id' FROM outbox o JOIN event_store s ON s.id = o.event_id "
            "WHERE s.event_data->>'name' = :name",
            name=f"re-{cast(ev.DepartmentCreated, cause.message).name}",
        )
        assert correlation == cause.headers[H_CORRELATION]
    applied = await scalar(
        batch_db,
        "SELECT count(*) FROM processed_events WHERE event_id = ANY(CAST(:ids AS uuid[]))",
        ids=[e.event_id for e in (m1, other, m2, failing, alone, m3)],
    )
    assert applied == 5


async def test_batched_handler_that_raises_is_undone_and_applied_event_by_event(
    consumer: EventConsumer, batch_db: Database
) -> None:
    calls: list[list[str]] = []
    broken = batched(calls, raise_in_many=True)
    a, b = event("ma"), event("mb")
    assert await consumer.apply_batch([(a, broken), (b, broken)]) == [True, True]
    assert calls == [["ma", "mb"]]
    # The row `many` wrote before raising is gone; each event applied once by the one-event form.
    assert [await effects(batch_db, e.event_id) for e in (a, b)] == [1, 1]
    notes = await scalar(
        batch_db,
        "SELECT count(*) FROM effects WHERE note = 'many' AND event_id = ANY(CAST(:ids AS uuid[]))",
        ids=[a.event_id, b.event_id],
    )
    assert notes == 0
