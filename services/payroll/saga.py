"""The payroll saga's answers from accounting (choreography; spec "Saga Pattern").

PayrollProcessed -> accounting posts the salary expense -> JournalEntryPosted with reference
"payroll.expense:<record id>" (record PROCESSED, accounting_transaction_id set) or
JournalEntryRejected (record FAILED with the reason, PayrollRecordFailed recorded).
PayrollPaid -> accounting posts the payment -> JournalEntryPosted "payroll.payment:<record id>"
(payment_transaction_id set; the record stays PAID).
Every step is guarded by the record's status, so a duplicated, late or reordered answer never
moves a record backwards; events of other source services are ignored.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from erp.accounting.v1 import events_pb2 as acc_ev
from sqlalchemy import any_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.payroll import mapping, runs
from services.payroll.cache import rowcount
from services.payroll.domain import RecordStatus
from services.payroll.tables import PayrollRecord
from services.runtime.consumer import DEFER, BatchedHandler, Deferred, Handler, Result
from services.runtime.db import UnitOfWork
from services.runtime.events import ReceivedEvent
from services.runtime.service import ServiceDeps
from services.runtime.tables import EVENT_STORE

log = logging.getLogger(__name__)

SOURCE_SERVICE = "payroll"
EXPENSE_PREFIX = "payroll.expense:"
PAYMENT_PREFIX = "payroll.payment:"
PROCESSED_EVENT = "erp.payroll.v1.PayrollProcessed"
MAX_REASON = 1000


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def record_id_of(source_id: str, reference: str) -> uuid.UUID | None:
    """The payroll record an answer is about: its source_id, else the id after the reference prefix."""
    return _uuid(source_id) or _uuid(reference.partition(":")[2])


async def _run_of(session: AsyncSession, record_id: uuid.UUID) -> uuid.UUID | None:
    return (
        await session.execute(select(PayrollRecord.payroll_run_id).where(PayrollRecord.id == record_id))
    ).scalar_one_or_none()


async def settle_expense(
    session: AsyncSession, record_id: uuid.UUID, journal_entry_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    answers = await settle_expenses(session, {record_id: journal_entry_id}, now)
    return answers.get(record_id, {"ignored": "unknown payroll record"})


async def settle_expenses(
    session: AsyncSession, entries: dict[uuid.UUID, uuid.UUID], now: datetime
) -> dict[uuid.UUID, dict[str, Any]]:
    """settle_expense for many records at once (record id -> journal entry id): the runs locked
    in id order, one transition for all. Answers the known records only."""
    known = await runs.runs_of_records(session, entries)
    await runs.lock_runs(session, known.values())
    rows = await runs.transition(
        session,
        [PayrollRecord.id == any_(runs.uuid_array(list(known)))],
        RecordStatus.PROCESSED,
        {"processed_at": now, "failure_reason": None},
        now,
        per_record={record_id: {"accounting_transaction_id": entries[record_id]} for record_id in known},
    )
    settled = {row.id for row in rows}
    return {
        record_id: {"processed": str(record_id)}
        if record_id in settled
        else {"ignored": "record is not processing or failed"}
        for record_id in known
    }


async def settle_payment(
    session: AsyncSession, record_id: uuid.UUID, journal_entry_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    result = await session.execute(
        update(PayrollRecord)
        .where(
            PayrollRecord.id == record_id,
            PayrollRecord.status == RecordStatus.PAID.value,
            PayrollRecord.payment_transaction_id.is_(None),
        )
        .values(payment_transaction_id=journal_entry_id, version=PayrollRecord.version + 1, updated_at=now)
    )
    if rowcount(result):
        return {"payment_recorded": str(record_id)}
    return {"ignored": "record is not paid or its payment is already recorded"}


async def _is_current_request(session: AsyncSession, record_id: uuid.UUID, request_event_id: str) -> bool:
    """Whether a rejection answers the record's latest PayrollProcessed (not one a retry superseded)."""
    if not request_event_id:
        return True
    latest = (
        await session.execute(
            select(EVENT_STORE.c.id)
            .where(EVENT_STORE.c.aggregate_id == record_id, EVENT_STORE.c.event_type == PROCESSED_EVENT)
            .order_by(EVENT_STORE.c.event_version.desc(), EVENT_STORE.c.occurred_at.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    return latest is None or str(latest) == request_event_id


async def fail(
    uow: UnitOfWork, record_id: uuid.UUID, reason: str, request_event_id: str, now: datetime
) -> dict[str, Any]:
    session = uow.session
    run_id = await _run_of(session, record_id)
    if run_id is None:
        return {"ignored": "unknown payroll record"}
    if not await _is_current_request(session, record_id, request_event_id):
        return {"ignored": "rejection of a superseded posting request"}
    await runs.lock_run(session, run_id)
    rows = await runs.transition(
        session,
        [PayrollRecord.id == record_id],
        RecordStatus.FAILED,
        {"failure_reason": (reason or "rejected by accounting")[:MAX_REASON]},
        now,
    )
    for row in rows:
        uow.record(mapping.record_failed(row), aggregate_type="PayrollRecord", aggregate_id=row.id, version=row.version)
    return {"failed": str(record_id)} if rows else {"ignored": "record is not processing"}


def handlers(deps: ServiceDeps) -> dict[str, Handler]:
    async def on_posted(uow: UnitOfWork, event: ReceivedEvent) -> dict[str, Any] | None:
        msg = event.message
        assert isinstance(msg, acc_ev.JournalEntryPosted)
        if msg.source_service != SOURCE_SERVICE:
            return None
        record_id = record_id_of(msg.source_id, msg.reference)
        journal_entry_id = _uuid(msg.journal_entry_id)
        if record_id is None or journal_entry_id is None:
            return {"ignored": "no payroll record or journal entry id"}
        if msg.reference.startswith(EXPENSE_PREFIX):
            return await settle_expense(uow.session, record_id, journal_entry_id, deps.clock.now())
        if msg.reference.startswith(PAYMENT_PREFIX):
            return await settle_payment(uow.session, record_id, journal_entry_id, deps.clock.now())
        return {"ignored": "reference is neither payroll.expense: nor payroll.payment:"}

    async def on_posted_many(items: Sequence[tuple[UnitOfWork, ReceivedEvent]]) -> list[Result | Deferred]:
        """The expense answers settled together (the first answer per record); everything
        else left to on_posted."""
        results: list[Result | Deferred] = [DEFER] * len(items)
        expenses: dict[uuid.UUID, uuid.UUID] = {}
        asked: dict[int, uuid.UUID] = {}
        for i, (_, event) in enumerate(items):
            msg = event.message
            assert isinstance(msg, acc_ev.JournalEntryPosted)
            if msg.source_service != SOURCE_SERVICE:
                results[i] = None
                continue
            record_id = record_id_of(msg.source_id, msg.reference)
            journal_entry_id = _uuid(msg.journal_entry_id)
            if (
                record_id
                and journal_entry_id
                and msg.reference.startswith(EXPENSE_PREFIX)
                and record_id not in expenses
            ):
                expenses[record_id] = journal_entry_id
                asked[i] = record_id
        if expenses:
            answers = await settle_expenses(items[0][0].session, expenses, deps.clock.now())
            for i, record_id in asked.items():
                results[i] = answers.get(record_id, DEFER)
        return results

    async def on_rejected(uow: UnitOfWork, event: ReceivedEvent) -> dict[str, Any] | None:
        msg = event.message
        assert isinstance(msg, acc_ev.JournalEntryRejected)
        if msg.source_service != SOURCE_SERVICE:
            return None
        record_id = record_id_of(msg.source_id, msg.reference)
        if record_id is None:
            return {"ignored": "no payroll record id"}
        if msg.reference.startswith(PAYMENT_PREFIX):
            log.warning("accounting rejected the payment posting of payroll record %s: %s", record_id, msg.reason)
            return {"payment_posting_rejected": str(record_id), "reason": msg.reason[:MAX_REASON]}
        return await fail(uow, record_id, msg.reason, msg.request_event_id, deps.clock.now())

    return {
        "erp.accounting.v1.JournalEntryPosted": BatchedHandler(on_posted, on_posted_many),
        "erp.accounting.v1.JournalEntryRejected": on_rejected,
    }
