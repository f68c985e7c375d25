"""Postings requested by payroll events, through real NATS JetStream and the service's consumer:
one entry per record whatever the duplicates, explicit rejections, events in the outbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg
from erp.accounting.v1 import accounting_pb2 as pb
from erp.accounting.v1 import accounting_service_pb2 as api
from erp.accounting.v1 import events_pb2 as ev
from erp.payroll.v1 import events_pb2 as payroll_ev
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from google.type.date_pb2 import Date
from nats.aio.client import Client

from services.accounting import chart
from services.runtime.context import CallContext
from services.runtime.events import H_MSG_ID, build_headers, event_subject
from services.runtime.settings import Settings
from tests.accounting.helpers import D, Stub, assert_books_balanced, dec, fresh_year
from tests.runtime.helpers import eventually

PROCESSED = "erp.payroll.v1.PayrollProcessed"
PAID = "erp.payroll.v1.PayrollPaid"


def processed(year: int, **overrides: Any) -> payroll_ev.PayrollProcessed:
    values: dict[str, Any] = {
        "payroll_record_id": str(uuid.uuid4()),
        "payroll_run_id": str(uuid.uuid4()),
        "employee_id": str(uuid.uuid4()),
        "employee_name": "Grace Hopper",
        "department": "Engineering",
        "pay_period_start": Date(year=year, month=3, day=1),
        "pay_period_end": Date(year=year, month=3, day=31),
        "gross_pay": dec("5000.00"),
        "federal_tax": dec("600.00"),
        "state_tax": dec("250.00"),
        "social_security_tax": dec("310.00"),
        "medicare_tax": dec("72.50"),
        "deductions": dec("100.00"),
        "net_pay": dec("3667.50"),
        "version": 2,
    }
    values.update(overrides)
    return payroll_ev.PayrollProcessed(**values)


async def publish(
    nats_client: Client, settings: Settings, message: Message, *, event_id: uuid.UUID | None = None, msg_id: str = ""
) -> uuid.UUID:
    event_id = event_id or uuid.uuid4()
    event_type = message.DESCRIPTOR.full_name
    headers = build_headers(
        event_id=event_id,
        event_type=event_type,
        aggregate_id=getattr(message, "payroll_record_id", ""),
        ctx=CallContext(correlation_id=uuid.uuid4()),
        occurred_at=datetime.now(UTC),
    )
    if msg_id:
        headers[H_MSG_ID] = msg_id  # same event, different JetStream message: a true redelivery
    await nats_client.jetstream().publish(
        event_subject(settings.subject_root, event_type), message.SerializeToString(), headers=headers
    )
    return event_id


async def entries_for(db: asyncpg.Connection, posting_key: str) -> list[dict[str, Any]]:
    rows = await db.fetch("SELECT * FROM journal_entries WHERE posting_key = $1", posting_key)
    return [dict(r) for r in rows]


async def processed_result(db: asyncpg.Connection, event_id: uuid.UUID) -> Any:
    return await db.fetchval("SELECT result::text FROM processed_events WHERE event_id = $1", event_id)


async def wait_processed(db: asyncpg.Connection, event_id: uuid.UUID) -> str:
    result: str = await eventually(lambda: processed_result(db, event_id), timeout_s=15)
    return result


async def outbox_events(db: asyncpg.Connection, name: str, source_id: str) -> list[Any]:
    rows = await db.fetch("SELECT payload FROM outbox WHERE event_type = $1 ORDER BY id", f"erp.accounting.v1.{name}")
    out = []
    for r in rows:
        msg = getattr(ev, name)()
        msg.ParseFromString(r["payload"])
        if msg.source_id == source_id:
            out.append(msg)
    return out


async def test_payroll_processed_posts_one_balanced_entry(
    stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings
) -> None:
    msg = processed(fresh_year())
    event_id = await publish(nats_client, settings, msg)
    result = await wait_processed(db, event_id)
    key = f"payroll.expense:{msg.payroll_record_id}"
    [row] = await entries_for(db, key)
    assert str(row["id"]) in result
    entry = (await stub.GetJournalEntry(api.GetJournalEntryRequest(id=str(row["id"])))).journal_entry
    assert (entry.source_service, entry.source_id, entry.reference, entry.department) == (
        "payroll",
        msg.payroll_record_id,
        key,
        "Engineering",
    )
    assert (entry.entry_date.month, entry.entry_date.day) == (3, 31)
    assert entry.posted_by == ""
    assert [(x.account_code, D(x.debit_amount), D(x.credit_amount)) for x in entry.lines] == [
        (chart.SALARY_EXPENSE, Decimal("5000.00"), Decimal("0")),
        (chart.PAYROLL_TAX_WITHHOLDINGS, Decimal("0"), Decimal("1332.50")),
        (chart.SALARY_PAYABLE, Decimal("0"), Decimal("3667.50")),
    ]
    [posted] = await outbox_events(db, "JournalEntryPosted", msg.payroll_record_id)
    assert posted.journal_entry_id == entry.id and posted.reference == key and posted.department == "Engineering"
    assert D(posted.total_amount) == Decimal("5000.00")
    assert [x.account_type for x in posted.lines] == [
        pb.ACCOUNT_TYPE_EXPENSE,
        pb.ACCOUNT_TYPE_LIABILITY,
        pb.ACCOUNT_TYPE_LIABILITY,
    ]
    await assert_books_balanced(stub, db)


async def test_payroll_paid_posts_the_payment(
    stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings
) -> None:
    year = fresh_year()
    record_id = str(uuid.uuid4())
    msg = payroll_ev.PayrollPaid(
        payroll_record_id=record_id, department="Ops", net_pay=dec("3667.50"), pay_date=Date(year=year, month=4, day=2)
    )
    await wait_processed(db, await publish(nats_client, settings, msg))
    [row] = await entries_for(db, f"payroll.payment:{record_id}")
    entry = (await stub.GetJournalEntry(api.GetJournalEntryRequest(id=str(row["id"])))).journal_entry
    assert [(x.account_code, D(x.debit_amount), D(x.credit_amount)) for x in entry.lines] == [
        (chart.SALARY_PAYABLE, Decimal("3667.50"), Decimal("0")),
        (chart.CASH, Decimal("0"), Decimal("3667.50")),
    ]
    assert (entry.entry_date.month, entry.entry_date.day, entry.reference) == (4, 2, f"payroll.payment:{record_id}")
    assert len(await outbox_events(db, "JournalEntryPosted", record_id)) == 1
    await assert_books_balanced(stub, db)


async def test_the_same_event_delivered_twice_posts_once(
    stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings
) -> None:
    msg = processed(fresh_year())
    event_id = uuid.uuid4()
    await publish(nats_client, settings, msg, event_id=event_id)
    await publish(nats_client, settings, msg, event_id=event_id)  # dropped by JetStream's duplicate window
    await publish(nats_client, settings, msg, event_id=event_id, msg_id=f"redelivery-{uuid.uuid4()}")  # reaches us
    sentinel = processed(fresh_year())
    await wait_processed(db, await publish(nats_client, settings, sentinel))  # handled in order, after the others
    assert len(await entries_for(db, f"payroll.expense:{msg.payroll_record_id}")) == 1
    assert len(await outbox_events(db, "JournalEntryPosted", msg.payroll_record_id)) == 1
    assert await db.fetchval("SELECT count(*) FROM processed_events WHERE event_id = $1", event_id) == 1
    await assert_books_balanced(stub, db)


async def test_a_repeated_request_answers_again_for_the_existing_entry(
    stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings
) -> None:
    msg = processed(fresh_year())
    first = await wait_processed(db, await publish(nats_client, settings, msg))
    second = await wait_processed(db, await publish(nats_client, settings, msg))  # new event id, same record
    [row] = await entries_for(db, f"payroll.expense:{msg.payroll_record_id}")
    assert '"duplicate": false' in first and '"duplicate": true' in second
    assert str(row["id"]) in second
    answers = await outbox_events(db, "JournalEntryPosted", msg.payroll_record_id)
    assert [a.journal_entry_id for a in answers] == [str(row["id"])] * 2
    assert answers[0].journal_number == answers[1].journal_number
    await assert_books_balanced(stub, db)


async def test_a_closed_period_produces_journal_entry_rejected(
    stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings
) -> None:
    year = fresh_year()
    period = (
        await stub.CreateFiscalPeriod(
            api.CreateFiscalPeriodRequest(
                fiscal_year=year, period_number=3, start_date=Date(year=year, month=3, day=1),
                end_date=Date(year=year, month=3, day=31),
            )
        )
    ).fiscal_period  # fmt: skip
    await stub.CloseFiscalPeriod(api.CloseFiscalPeriodRequest(id=period.id))
    msg = processed(year)
    event_id = await publish(nats_client, settings, msg)
    result = await wait_processed(db, event_id)
    assert "rejected" in result
    assert await entries_for(db, f"payroll.expense:{msg.payroll_record_id}") == []
    [rejection] = await outbox_events(db, "JournalEntryRejected", msg.payroll_record_id)
    assert rejection.source_service == "payroll"
    assert f"{year}-03 is closed" in rejection.reason
    assert (rejection.request_event_type, rejection.request_event_id) == (PROCESSED, str(event_id))
    assert rejection.reference == f"payroll.expense:{msg.payroll_record_id}"
    assert await outbox_events(db, "JournalEntryPosted", msg.payroll_record_id) == []
    await assert_books_balanced(stub, db)


async def test_unbalanced_amounts_are_rejected_and_nothing_is_left_behind(
    stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings
) -> None:
    year = fresh_year()
    msg = processed(year, net_pay=dec("3000.00"))
    await wait_processed(db, await publish(nats_client, settings, msg))
    [rejection] = await outbox_events(db, "JournalEntryRejected", msg.payroll_record_id)
    assert "differ by 667.50" in rejection.reason
    assert await entries_for(db, f"payroll.expense:{msg.payroll_record_id}") == []
    await assert_books_balanced(stub, db)


async def test_an_inactive_account_is_rejected_and_the_savepoint_undoes_everything(
    stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings
) -> None:
    year = fresh_year()
    account = (
        await stub.BatchGetAccountsByCode(
            api.BatchGetAccountsByCodeRequest(account_codes=[chart.PAYROLL_TAX_WITHHOLDINGS])
        )
    ).accounts[0]

    async def set_active(active: bool) -> None:
        await stub.UpdateAccount(
            api.UpdateAccountRequest(
                account=pb.Account(id=account.id, is_active=active), update_mask=FieldMask(paths=["is_active"])
            )
        )

    await set_active(False)
    try:
        msg = processed(year)
        await wait_processed(db, await publish(nats_client, settings, msg))
    finally:
        await set_active(True)
    [rejection] = await outbox_events(db, "JournalEntryRejected", msg.payroll_record_id)
    assert chart.PAYROLL_TAX_WITHHOLDINGS in rejection.reason and "inactive" in rejection.reason
    # The posting had opened the month's period on demand before it met the inactive account.
    assert await db.fetchval("SELECT count(*) FROM fiscal_periods WHERE fiscal_year = $1", year) == 0
    assert await db.fetchval("SELECT count(*) FROM journal_sequences WHERE year = $1", year) == 0
    assert await entries_for(db, f"payroll.expense:{msg.payroll_record_id}") == []
    await assert_books_balanced(stub, db)
