"""A consumer's batch of posting requests is posted together (posting_batch) with the same
outcome as one request at a time: one entry per record, gap-free numbers in event order,
running balances right across dates, duplicates answered with the existing entry, the
irregular requests (missing period, bad amounts, a key posted before) left to the one-request
form, which creates, re-announces or rejects exactly as it does alone."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from erp.accounting.v1 import accounting_service_pb2 as api
from erp.accounting.v1 import events_pb2 as ev
from erp.payroll.v1 import events_pb2 as payroll_ev
from google.type.date_pb2 import Date

from services.accounting import chart
from services.accounting.handlers import payroll_expense
from services.accounting.posting_batch import post_many
from services.runtime.consumer import BatchedHandler, EventConsumer
from services.runtime.events import ReceivedEvent
from services.runtime.service import RunningService
from tests.accounting.helpers import CALLER, Stub, assert_books_balanced, dec, fresh_year, ledger_rows
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
        received(on(year, 4, 30)),  # no April period yet: created, as the one-request form does
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

    # One entry per record; numbers gap-free over the year, the batch's in event order.
    numbers = await db.fetch(
        "SELECT journal_number, posting_key FROM journal_entries WHERE entry_date >= $1 AND entry_date < $2 "
        "AND source_service = 'payroll' ORDER BY journal_number",
        date(year, 1, 1),
        date(year + 1, 1, 1),
    )
    assert len(numbers) == 2 + 5
    assert [int(r["journal_number"].rsplit("-", 1)[1]) for r in numbers] == list(range(1, 8))
    keys = [r["posting_key"] for r in numbers]
    april = batch[3].message
    assert isinstance(april, payroll_ev.PayrollProcessed)
    posted_in_order = (plain[0], twice, april, plain[1], plain[2])
    assert keys[2:] == [f"payroll.expense:{m.payroll_record_id}" for m in posted_in_order]

    # The rejection went out as JournalEntryRejected; every posting as JournalEntryPosted.
    rejected = await db.fetchval(
        "SELECT count(*) FROM outbox WHERE event_type = 'erp.accounting.v1.JournalEntryRejected' AND aggregate_id = $1",
        batch[6].message.payroll_record_id,  # type: ignore[attr-defined]
    )
    assert rejected == 1
    await assert_books_balanced(stub, db)
    salary = [r for r in await ledger_rows(db, chart.SALARY_EXPENSE) if r["transaction_date"].year == year]
    assert [r["transaction_date"].month for r in salary] == [3, 3, 3, 3, 4, 5, 5]


async def test_post_many_posts_the_plain_drafts_and_leaves_the_rest(
    accounting_service: RunningService, stub: Stub, db: asyncpg.Connection
) -> None:
    """What post_many leaves to post_entry (None): a key posted before, a key twice in the
    batch, a closed period, an unknown account, a draft that does not balance, no draft."""
    year = fresh_year()
    consumer = accounting_service.consumer
    assert isinstance(consumer, EventConsumer)
    handler = consumer.handlers[PROCESSED]
    before = on(year, 3, 31)
    assert await consumer.apply_batch([(received(before), handler), (received(on(year, 6, 30)), handler)]) == [
        True,
        True,
    ]
    june = await db.fetchval("SELECT id FROM fiscal_periods WHERE fiscal_year = $1 AND period_number = 6", year)
    await stub.CloseFiscalPeriod(api.CloseFiscalPeriodRequest(id=str(june)), metadata=CALLER)
    plain, twice = on(year, 3, 15), on(year, 3, 20)
    unknown = replace(payroll_expense(on(year, 3, 10)).draft(), posting_key=f"t:{uuid.uuid4()}")
    unknown = replace(unknown, lines=(replace(unknown.lines[0], account_code="9999"), *unknown.lines[1:]))
    drafts = [
        payroll_expense(plain).draft(),
        payroll_expense(before).draft(),
        payroll_expense(twice).draft(),
        payroll_expense(twice).draft(),
        payroll_expense(on(year, 6, 15)).draft(),
        unknown,
        replace(payroll_expense(on(year, 3, 12)).draft(), lines=payroll_expense(plain).draft().lines[:2]),
        None,
        payroll_expense(on(year, 7, 31)).draft(),  # July: no period yet, created
    ]
    async with accounting_service.deps.db.unit_of_work() as uow:
        postings = await post_many([(uow, d) for d in drafts], now=datetime.now(UTC))
        assert [p is not None for p in postings] == [True, False, True, False, False, False, False, False, True]
        recorded = uow.pending_events
    assert [p.entry.journal_number for p in postings if p] == [f"JE-{year}-{n:06d}" for n in (3, 4, 5)]
    assert len(recorded) == 3 and all(isinstance(m, ev.JournalEntryPosted) and not m.is_closing for m in recorded)
    await assert_books_balanced(stub, db)
