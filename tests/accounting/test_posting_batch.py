"""A consumer's batch of posting requests is posted together (posting_batch) with the same
outcome as one request at a time: one entry per record, gap-free numbers in event order,
running balances right across dates, duplicates answered with the existing entry, the
irregular requests (missing period, bad amounts, a key posted before) left to the one-request
form, which creates, re-announces or rejects exactly as it does alone."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import asyncpg
from erp.payroll.v1 import events_pb2 as payroll_ev
from google.type.date_pb2 import Date

from services.accounting import chart
from services.runtime.consumer import BatchedHandler, EventConsumer
from services.runtime.events import ReceivedEvent
from services.runtime.service import RunningService
from tests.accounting.helpers import Stub, assert_books_balanced, dec, fresh_year, ledger_rows
from tests.accounting.test_payroll_handlers import PROCESSED, processed


def received(message: payroll_ev.PayrollProcessed, *, event_id: uuid.UUID | None = None) -> ReceivedEvent:
    event_id = event_id or uuid.uuid4()
    return ReceivedEvent(event_id, PROCESSED, "payroll", message.payroll_record_id, message, {})


def on(year: int, month: int, day: int, **overrides: Any) -> payroll_ev.PayrollProcessed:
    return processed(
        year,
        pay_period_start=Date(year=year, month=month, day=1),
        pay_period_end=Date(year=year, month=month, day=day),
        **overrides,
    )


async def results(db: asyncpg.Connection, events: list[ReceivedEvent]) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT event_id, result FROM processed_events WHERE event_id = ANY($1::uuid[])", [e.event_id for e in events]
    )
    by_id = {r["event_id"]: json.loads(r["result"]) for r in rows}
    return [by_id[e.event_id] for e in events]


async def test_a_batch_posts_as_one_request_at_a_time_would(
    accounting_service: RunningService, stub: Stub, db: asyncpg.Connection
) -> None:
    consumer = accounting_service.consumer
    assert isinstance(consumer, EventConsumer)
    handler = consumer.handlers[PROCESSED]
    assert isinstance(handler, BatchedHandler)
    year = fresh_year()
    # Earlier postings: the periods of March and May exist (April's does not), one key is taken,
    # and the ledger has rows dated after part of the batch (back-dated postings shift them).
    earlier_key_msg = on(year, 3, 31)
    small = {k: dec("0") for k in ("federal_tax", "state_tax", "social_security_tax", "medicare_tax", "deductions")}
    setup = [
        received(earlier_key_msg),
        received(on(year, 5, 31, gross_pay=dec("10.00"), net_pay=dec("10.00"), **small)),
    ]
    assert await consumer.apply_batch([(e, handler) for e in setup[:1]]) == [True]
    assert await consumer.apply_batch([(e, handler) for e in setup[1:]]) == [True]

    plain = [on(year, 3, 15), on(year, 5, 31), on(year, 3, 31)]
    twice = on(year, 3, 20)
    batch = [
        received(plain[0]),
        received(earlier_key_msg),  # posted before the batch: answered with that entry
        received(twice),
        received(on(year, 4, 30)),  # no April period yet: the one-request form creates it
        received(plain[1]),
        received(twice),  # the same request again, new event id: answered with the first's entry
        received(on(year, 3, 25, net_pay=dec("1.00"))),  # does not balance: rejected
        received(plain[2]),
    ]
    outcomes = await consumer.apply_batch([(e, handler) for e in batch])
    assert outcomes == [True] * len(batch)
    answers = await results(db, batch)
    assert "balance" in answers[6]["rejected"]
    assert [a.get("duplicate") for a in answers] == [False, True, False, False, False, True, None, False]
    assert answers[1]["journal_entry_id"] == (await results(db, setup[:1]))[0]["journal_entry_id"]
    assert answers[5]["journal_entry_id"] == answers[2]["journal_entry_id"]

    # One entry per record; numbers gap-free over the year, the batch's in event order for the
    # plain ones (the deferred ones numbered after them).
    numbers = await db.fetch(
        "SELECT journal_number, posting_key FROM journal_entries WHERE entry_date >= $1 AND entry_date < $2 "
        "AND source_service = 'payroll' ORDER BY journal_number",
        date(year, 1, 1),
        date(year + 1, 1, 1),
    )
    assert len(numbers) == 2 + 5
    assert [int(r["journal_number"].rsplit("-", 1)[1]) for r in numbers] == list(range(1, 8))
    keys = [r["posting_key"] for r in numbers]
    plain_keys = [f"payroll.expense:{m.payroll_record_id}" for m in (plain[0], twice, plain[1], plain[2])]
    assert keys[2:6] == plain_keys
    assert keys[6] == f"payroll.expense:{batch[3].message.payroll_record_id}"  # type: ignore[attr-defined]

    # The rejection went out as JournalEntryRejected; every posting as JournalEntryPosted.
    rejected = await db.fetchval(
        "SELECT count(*) FROM outbox WHERE event_type = 'erp.accounting.v1.JournalEntryRejected' AND aggregate_id = $1",
        batch[6].message.payroll_record_id,  # type: ignore[attr-defined]
    )
    assert rejected == 1
    await assert_books_balanced(stub, db)
    salary = [r for r in await ledger_rows(db, chart.SALARY_EXPENSE) if r["transaction_date"].year == year]
    assert [r["transaction_date"].month for r in salary] == [3, 3, 3, 3, 4, 5, 5]
