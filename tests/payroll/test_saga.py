"""The payroll saga: approval, accounting's answers (synthetic events), retry, payment, stuck records.

Runs against a payroll instance on a private subject root (fixture `saga`), so the answers are
exactly the ones these tests publish, whatever other services run in the session.
"""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta
from typing import Any

import asyncpg
import pytest
from erp.accounting.v1 import events_pb2 as acc_ev
from erp.payroll.v1 import events_pb2 as ev
from erp.payroll.v1 import payroll_pb2 as pb
from erp.payroll.v1 import payroll_service_pb2 as api
from google.protobuf.duration_pb2 import Duration
from nats.aio.client import Client

from services.runtime.consumer import BatchedHandler
from services.runtime.events import ReceivedEvent
from tests.payroll.helpers import (
    APPROVER_ID,
    AS_APPROVER,
    AS_CREATOR,
    Code,
    SagaPayroll,
    cache_employee,
    day,
    outbox_events,
    processed_result,
    publish,
    records_of,
    rejected,
    rpc_error,
    run_payroll,
    tag,
)
from tests.runtime.helpers import eventually

pytestmark = pytest.mark.usefixtures("standard_rates")
MARCH = (day(2024, 3, 1), day(2024, 3, 31))
PROCESSED = "erp.payroll.v1.PayrollProcessed"


async def approved_run(
    saga: SagaPayroll, db: asyncpg.Connection, n: int
) -> tuple[pb.PayrollRun, list[pb.PayrollRecord]]:
    dept = f"Saga {tag()}"
    for _ in range(n):
        await cache_employee(db, dept)
    run = (await run_payroll(saga.stub, *MARCH, dept)).payroll_run
    approved = (
        await saga.stub.ApprovePayrollRun(api.ApprovePayrollRunRequest(id=run.id), metadata=AS_APPROVER)
    ).payroll_run
    return approved, await records_of(saga.stub, run.id)


async def answer(nats: Client, saga: SagaPayroll, db: asyncpg.Connection, message: Any, key: str) -> str:
    """Publish an accounting answer and wait until payroll has applied it; returns the result."""
    event_id = await publish(nats, saga.settings, message, key)
    return str(await eventually(lambda: processed_result(db, event_id), timeout_s=10.0))


def posted(
    record_id: str, journal_id: str, kind: str = "expense", source: str = "payroll"
) -> acc_ev.JournalEntryPosted:
    return acc_ev.JournalEntryPosted(
        journal_entry_id=journal_id,
        journal_number=f"JE-{tag()}",
        source_service=source,
        source_id=record_id,
        reference=f"payroll.{kind}:{record_id}",
    )


def rejection(record_id: str, reason: str, request_event_id: str = "") -> acc_ev.JournalEntryRejected:
    return acc_ev.JournalEntryRejected(
        source_service="payroll",
        source_id=record_id,
        reason=reason,
        request_event_type=PROCESSED,
        request_event_id=request_event_id,
        reference=f"payroll.expense:{record_id}",
    )


async def get(saga: SagaPayroll, record_id: str) -> pb.PayrollRecord:
    return (await saga.stub.GetPayrollRecord(api.GetPayrollRecordRequest(id=record_id))).payroll_record


async def get_run(saga: SagaPayroll, run_id: str) -> pb.PayrollRun:
    return (await saga.stub.GetPayrollRun(api.GetPayrollRunRequest(id=run_id))).payroll_run


async def test_approval_requests_one_posting_per_record(saga: SagaPayroll, db: asyncpg.Connection) -> None:
    run, records = await approved_run(saga, db, 3)
    assert (run.status, run.approved_by) == (pb.PAYROLL_RUN_STATUS_PROCESSING, APPROVER_ID)
    assert {(r.status, r.approved_by, r.version) for r in records} == {
        (pb.PAYROLL_RECORD_STATUS_PROCESSING, APPROVER_ID, 2)
    }
    events = await outbox_events(db, PROCESSED, [r.id for r in records])
    assert sorted(e["aggregate_id"] for e in events) == sorted(r.id for r in records)
    by_id = {r.id: r for r in records}
    for e in events:
        msg = ev.PayrollProcessed.FromString(e["payload"])
        r = by_id[msg.payroll_record_id]
        assert (msg.payroll_run_id, msg.employee_id, msg.employee_name, msg.department) == (
            run.id,
            r.employee_id,
            r.employee_name,
            r.department,
        )
        assert (msg.gross_pay, msg.federal_tax, msg.state_tax, msg.social_security_tax, msg.medicare_tax) == (
            r.gross_pay,
            r.federal_tax,
            r.state_tax,
            r.social_security_tax,
            r.medicare_tax,
        )
        assert (msg.deductions, msg.net_pay, msg.version, msg.pay_period_end) == (
            r.deductions,
            r.net_pay,
            2,
            r.pay_period_end,
        )
    assert len(await outbox_events(db, "erp.payroll.v1.PayrollRunApproved", [run.id])) == 1
    await rejected(
        db,
        lambda: saga.stub.ApprovePayrollRun(api.ApprovePayrollRunRequest(id=run.id), metadata=AS_APPROVER),
        Code.FAILED_PRECONDITION,
    )


async def test_the_creator_may_not_approve_and_someone_must(saga: SagaPayroll, db: asyncpg.Connection) -> None:
    dept = f"FourEyes {tag()}"
    await cache_employee(db, dept)
    run = (await run_payroll(saga.stub, *MARCH, dept, metadata=AS_CREATOR)).payroll_run

    def approve(metadata: Any) -> Any:
        return saga.stub.ApprovePayrollRun(api.ApprovePayrollRunRequest(id=run.id), metadata=metadata)

    err = await rejected(db, lambda: approve(AS_CREATOR), Code.FAILED_PRECONDITION)
    assert "may not approve" in (err.details() or "")
    await rejected(db, lambda: approve(()), Code.UNAUTHENTICATED)
    await rpc_error(
        saga.stub.ApprovePayrollRun(api.ApprovePayrollRunRequest(id=str(uuid.uuid4())), metadata=AS_APPROVER),
        Code.NOT_FOUND,
    )
    assert (await approve(AS_APPROVER)).payroll_run.status == pb.PAYROLL_RUN_STATUS_PROCESSING


async def test_a_posting_settles_the_record_and_late_answers_change_nothing(
    saga: SagaPayroll, db: asyncpg.Connection, nats_client: Client
) -> None:
    run, records = await approved_run(saga, db, 2)
    first, second = records
    journal = str(uuid.uuid4())
    # Another service's posting about the same id is not for payroll.
    assert await answer(nats_client, saga, db, posted(first.id, journal, source="billing"), journal) == "{}"
    assert (await get(saga, first.id)).status == pb.PAYROLL_RECORD_STATUS_PROCESSING

    assert "processed" in await answer(nats_client, saga, db, posted(first.id, journal), journal)
    settled = await get(saga, first.id)
    assert (settled.status, settled.accounting_transaction_id, settled.version) == (
        pb.PAYROLL_RECORD_STATUS_PROCESSED,
        journal,
        3,
    )
    assert settled.HasField("processed_at")
    # A late rejection and a second posting do not move it back or re-point it.
    assert "ignored" in await answer(nats_client, saga, db, rejection(first.id, "late"), first.id)
    other = str(uuid.uuid4())
    assert "ignored" in await answer(nats_client, saga, db, posted(first.id, other), other)
    assert await get(saga, first.id) == settled
    assert (await get_run(saga, run.id)).status == pb.PAYROLL_RUN_STATUS_PROCESSING

    await answer(nats_client, saga, db, posted(second.id, str(uuid.uuid4())), second.id)
    assert (await get_run(saga, run.id)).status == pb.PAYROLL_RUN_STATUS_PROCESSED


async def test_a_rejection_fails_the_record_until_retried(
    saga: SagaPayroll, db: asyncpg.Connection, nats_client: Client
) -> None:
    run, (record,) = await approved_run(saga, db, 1)
    (first_request,) = await outbox_events(db, PROCESSED, [record.id])
    result = await answer(nats_client, saga, db, rejection(record.id, "fiscal period 2024-03 is closed"), record.id)
    assert "failed" in result
    failed = await get(saga, record.id)
    assert (failed.status, failed.failure_reason) == (
        pb.PAYROLL_RECORD_STATUS_FAILED,
        "fiscal period 2024-03 is closed",
    )
    (failure,) = await outbox_events(db, "erp.payroll.v1.PayrollRecordFailed", [record.id])
    assert ev.PayrollRecordFailed.FromString(failure["payload"]).failure_reason == "fiscal period 2024-03 is closed"
    failed_run = await get_run(saga, run.id)
    assert (failed_run.status, failed_run.failed_count) == (pb.PAYROLL_RUN_STATUS_FAILED, 1)

    retried = await saga.stub.RetryFailedRecords(api.RetryFailedRecordsRequest(payroll_run_id=run.id))
    assert [(r.id, r.status, r.failure_reason) for r in retried.payroll_records] == [
        (record.id, pb.PAYROLL_RECORD_STATUS_PROCESSING, "")
    ]
    assert len(await outbox_events(db, PROCESSED, [record.id])) == 2  # the posting is requested again
    assert (await get_run(saga, run.id)).failed_count == 0
    # A rejection of the superseded request arriving late does not fail the retried record.
    stale = rejection(record.id, "duplicate", str(first_request["event_id"]))
    assert "superseded" in await answer(nats_client, saga, db, stale, record.id)
    assert (await get(saga, record.id)).status == pb.PAYROLL_RECORD_STATUS_PROCESSING
    # Retrying what is not failed is refused and writes nothing.
    await rejected(
        db,
        lambda: saga.stub.RetryFailedRecords(api.RetryFailedRecordsRequest(payroll_record_ids=[record.id])),
        Code.FAILED_PRECONDITION,
    )
    await rejected(db, lambda: saga.stub.RetryFailedRecords(api.RetryFailedRecordsRequest()), Code.INVALID_ARGUMENT)
    journal = str(uuid.uuid4())
    await answer(nats_client, saga, db, posted(record.id, journal), journal)
    assert (await get(saga, record.id)).accounting_transaction_id == journal


async def test_paying_processed_records(saga: SagaPayroll, db: asyncpg.Connection, nats_client: Client) -> None:
    run, (done, waiting) = await approved_run(saga, db, 2)
    journal = str(uuid.uuid4())
    await answer(nats_client, saga, db, posted(done.id, journal), journal)

    def pay(**fields: Any) -> Any:
        return saga.stub.MarkPayrollPaid(api.MarkPayrollPaidRequest(**fields))

    await rejected(db, lambda: pay(payroll_record_ids=[waiting.id], pay_date=day(2024, 4, 1)), Code.FAILED_PRECONDITION)
    await rejected(db, lambda: pay(payroll_record_ids=[str(uuid.uuid4())], pay_date=day(2024, 4, 1)), Code.NOT_FOUND)
    await rejected(db, lambda: pay(pay_date=day(2024, 4, 1)), Code.INVALID_ARGUMENT)
    await rejected(db, lambda: pay(payroll_run_id=run.id), Code.INVALID_ARGUMENT)

    paid = await pay(payroll_run_id=run.id, pay_date=day(2024, 4, 1))
    assert [(r.id, r.status, r.pay_date) for r in paid.payroll_records] == [
        (done.id, pb.PAYROLL_RECORD_STATUS_PAID, day(2024, 4, 1))
    ]
    assert paid.total_net == done.net_pay
    (event,) = await outbox_events(db, "erp.payroll.v1.PayrollPaid", [done.id])
    msg = ev.PayrollPaid.FromString(event["payload"])
    assert (msg.net_pay, msg.pay_date, msg.accounting_transaction_id, msg.version) == (
        done.net_pay,
        day(2024, 4, 1),
        journal,
        4,
    )
    # Accounting records the payment: the record keeps its status.
    payment = str(uuid.uuid4())
    assert "payment_recorded" in await answer(nats_client, saga, db, posted(done.id, payment, "payment"), payment)
    row = await db.fetchrow(
        "SELECT status, payment_transaction_id, paid_at FROM payroll_records WHERE id = $1", uuid.UUID(done.id)
    )
    assert (row["status"], str(row["payment_transaction_id"])) == ("paid", payment) and row["paid_at"] is not None
    seen = await get(saga, done.id)  # the API shows the payment's entry and when it was paid
    assert seen.payment_transaction_id == payment and seen.paid_at.ToDatetime(tzinfo=UTC) == row["paid_at"]
    assert [r.payment_transaction_id for r in paid.payroll_records] == [""] and paid.payroll_records[0].HasField(
        "paid_at"
    )
    # A processed record can no longer be retried or failed; paying twice pays nobody.
    assert (await pay(payroll_run_id=run.id, pay_date=day(2024, 4, 2))).payroll_records == []
    await answer(nats_client, saga, db, posted(waiting.id, str(uuid.uuid4())), waiting.id)
    await pay(payroll_record_ids=[waiting.id], pay_date=day(2024, 4, 3))
    assert (await get_run(saga, run.id)).status == pb.PAYROLL_RUN_STATUS_PAID


async def test_stuck_records_are_listed(saga: SagaPayroll, db: asyncpg.Connection) -> None:
    run, (old, fresh) = await approved_run(saga, db, 2)
    await db.execute(
        "UPDATE payroll_records SET updated_at = now() - interval '10 minutes' WHERE id = $1", uuid.UUID(old.id)
    )
    # Default threshold: the saga timeout (300 s).
    stuck = await saga.stub.ListStuckRecords(api.ListStuckRecordsRequest(payroll_run_id=run.id))
    assert ([r.id for r in stuck.payroll_records], stuck.total_size) == ([old.id], 1)
    hour = Duration()
    hour.FromTimedelta(timedelta(hours=1))
    later = await saga.stub.ListStuckRecords(api.ListStuckRecordsRequest(payroll_run_id=run.id, older_than=hour))
    assert later.total_size == 0
    await rpc_error(
        saga.stub.ListStuckRecords(api.ListStuckRecordsRequest(older_than=Duration(seconds=-5))), Code.INVALID_ARGUMENT
    )
    assert fresh.id not in [r.id for r in stuck.payroll_records]


async def test_a_batch_of_answers_settles_like_one_at_a_time(saga: SagaPayroll, db: asyncpg.Connection) -> None:
    """A consumer's run of JournalEntryPosted is settled together (one transition): each record
    gets its own journal entry id; a second answer for a record, an answer for a record that is
    not processing, another service's posting and an unknown record change nothing more."""
    run, records = await approved_run(saga, db, 4)
    a, b, c, d = records
    consumer = saga.service.consumer
    assert consumer is not None
    handler = consumer.handlers["erp.accounting.v1.JournalEntryPosted"]
    assert isinstance(handler, BatchedHandler)
    journals = {r.id: str(uuid.uuid4()) for r in records}
    ghost = str(uuid.uuid4())
    answers = [
        posted(a.id, journals[a.id]),
        posted(b.id, journals[b.id]),
        posted(a.id, str(uuid.uuid4())),  # a second answer for a: ignored, a keeps its entry
        posted(c.id, journals[c.id], source="billing"),  # not payroll's
        posted(ghost, str(uuid.uuid4())),  # no such record
        posted(c.id, journals[c.id]),
    ]
    events = [
        ReceivedEvent(uuid.uuid4(), "erp.accounting.v1.JournalEntryPosted", "accounting", m.journal_entry_id, m, {})
        for m in answers
    ]
    assert await consumer.apply_batch([(e, handler) for e in events]) == [True] * len(events)
    results = [await processed_result(db, e.event_id) for e in events]
    assert ["processed" in r for r in results] == [True, True, False, False, False, True]
    assert "ignored" in results[2] and "unknown payroll record" in results[4] and results[3] == "{}"
    for record in (a, b, c):
        settled = await get(saga, record.id)
        assert (settled.status, settled.accounting_transaction_id, settled.version) == (
            pb.PAYROLL_RECORD_STATUS_PROCESSED,
            journals[record.id],
            3,
        )
    assert (await get(saga, d.id)).status == pb.PAYROLL_RECORD_STATUS_PROCESSING
    state = await get_run(saga, run.id)
    assert state.status == pb.PAYROLL_RUN_STATUS_PROCESSING
    assert await consumer.apply_batch([(e, handler) for e in events]) == [False] * len(events)  # redelivered
    assert (await get(saga, a.id)).accounting_transaction_id == journals[a.id]
    d_answer = posted(d.id, journals[d.id])
    last = ReceivedEvent(uuid.uuid4(), "erp.accounting.v1.JournalEntryPosted", "accounting", "", d_answer, {})
    again = ReceivedEvent(uuid.uuid4(), "erp.accounting.v1.JournalEntryPosted", "accounting", "", d_answer, {})
    assert await consumer.apply_batch([(last, handler), (again, handler)]) == [True, True]
    assert (await get_run(saga, run.id)).status == pb.PAYROLL_RUN_STATUS_PROCESSED
