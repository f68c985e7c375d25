"""The payroll saga's commands: approve a run, pay records, retry failures, find stuck records.

Each command is one unit of work: the guarded status change (one UPDATE over every record
concerned), the runs' counters and one event per record commit together.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

from erp.payroll.v1 import payroll_service_pb2 as api
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.payroll import domain, mapping, runs
from services.payroll.api.base import ApiBase
from services.payroll.domain import RecordStatus
from services.payroll.tables import PayrollRecord
from services.runtime import context
from services.runtime.convert import date_from_pb, decimal_to_pb, uuid_from_str, uuids_from_strs
from services.runtime.db import UnitOfWork
from services.runtime.errors import FailedPrecondition, InvalidArgument, NotFound, Validator
from services.runtime.repository import list_page

MAX_IDS_IN_MESSAGE = 10


class LifecycleApi(ApiBase):
    async def ApprovePayrollRun(
        self, request: api.ApprovePayrollRunRequest, context_: Any
    ) -> api.ApprovePayrollRunResponse:
        key = uuid_from_str(request.id, "id")
        assert key is not None
        approver = context.caller_id()
        now = self.clock.now()
        async with self.db.unit_of_work() as uow:
            run = await runs.lock_run(uow.session, key)
            run.approved_by = domain.ensure_can_approve(run.status, run.created_by, approver)
            run.approved_at = now
            uow.record(mapping.run_approved(run, now), aggregate_type="PayrollRun", aggregate_id=run.id)
            rows = await runs.transition(
                uow.session,
                [PayrollRecord.payroll_run_id == run.id, PayrollRecord.status == RecordStatus.PENDING.value],
                RecordStatus.PROCESSING,
                {"approved_by": approver, "approved_at": now},
                now,
            )
            run.status = domain.run_status(True, runs.counts(run)).value
            run.updated_at = now
            _request_postings(uow, rows)
        return api.ApprovePayrollRunResponse(payroll_run=mapping.run_to_pb(run))

    async def MarkPayrollPaid(self, request: api.MarkPayrollPaidRequest, context_: Any) -> api.MarkPayrollPaidResponse:
        v = Validator()
        run_id = v.collect(lambda: uuid_from_str(request.payroll_run_id, "payroll_run_id", required=False))
        ids = v.collect(lambda: uuids_from_strs(list(request.payroll_record_ids), "payroll_record_ids")) or []
        v.check(
            (run_id is None) != (not ids) or bool(v.violations),
            "payroll_run_id",
            "set exactly one of payroll_run_id and payroll_record_ids",
        )
        pay_date = v.collect(lambda: date_from_pb(request.pay_date, "pay_date"))
        v.raise_if_any()
        now = self.clock.now()
        async with self.db.unit_of_work() as uow:
            where = await _lock_targets(uow.session, run_id, ids, RecordStatus.PROCESSED)
            rows = await runs.transition(
                uow.session, where, RecordStatus.PAID, {"pay_date": pay_date, "paid_at": now}, now
            )
            for row in rows:
                uow.record(
                    mapping.payroll_paid(row), aggregate_type="PayrollRecord", aggregate_id=row.id, version=row.version
                )
        total = sum((r.net_pay for r in rows), Decimal("0.00"))
        return api.MarkPayrollPaidResponse(
            payroll_records=[mapping.record_to_pb(r) for r in rows], total_net=decimal_to_pb(total)
        )

    async def RetryFailedRecords(
        self, request: api.RetryFailedRecordsRequest, context_: Any
    ) -> api.RetryFailedRecordsResponse:
        v = Validator()
        run_id = v.collect(lambda: uuid_from_str(request.payroll_run_id, "payroll_run_id", required=False))
        ids = v.collect(lambda: uuids_from_strs(list(request.payroll_record_ids), "payroll_record_ids")) or []
        v.check(
            run_id is not None or bool(ids) or bool(v.violations),
            "payroll_run_id",
            "set payroll_run_id or payroll_record_ids",
        )
        v.raise_if_any()
        now = self.clock.now()
        async with self.db.unit_of_work() as uow:
            where = await _lock_targets(uow.session, run_id, ids, RecordStatus.FAILED)
            rows = await runs.transition(
                uow.session,
                where,
                RecordStatus.PROCESSING,
                {"failure_reason": None},
                now,
            )
            _request_postings(uow, rows)
        return api.RetryFailedRecordsResponse(payroll_records=[mapping.record_to_pb(r) for r in rows])

    async def ListStuckRecords(
        self, request: api.ListStuckRecordsRequest, context_: Any
    ) -> api.ListStuckRecordsResponse:
        v = Validator()
        older_than = request.older_than.ToTimedelta() if request.HasField("older_than") else timedelta(0)
        v.check(older_than >= timedelta(0), "older_than", "must be positive")
        run_id = v.collect(lambda: uuid_from_str(request.payroll_run_id, "payroll_run_id", required=False))
        v.raise_if_any()
        threshold = older_than or self.config.saga_timeout
        cutoff = self.clock.now() - threshold
        stmt = select(PayrollRecord).where(
            PayrollRecord.status == RecordStatus.PROCESSING.value, PayrollRecord.updated_at < cutoff
        )
        if run_id is not None:
            stmt = stmt.where(PayrollRecord.payroll_run_id == run_id)
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [PayrollRecord.updated_at, PayrollRecord.id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=(threshold.total_seconds(), str(run_id)),
            )
        return api.ListStuckRecordsResponse(
            payroll_records=[mapping.record_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )


def _request_postings(uow: UnitOfWork, rows: list[PayrollRecord]) -> None:
    """One PayrollProcessed per record: accounting answers with JournalEntryPosted/Rejected."""
    for row in rows:
        uow.record(
            mapping.payroll_processed(row), aggregate_type="PayrollRecord", aggregate_id=row.id, version=row.version
        )


async def _lock_targets(
    session: AsyncSession, run_id: uuid.UUID | None, ids: list[uuid.UUID], required: RecordStatus
) -> list[Any]:
    """Lock the runs concerned (before any record) and check the named records exist and are in
    `required` status; returns the WHERE clauses selecting the records to move."""
    where: list[Any] = [PayrollRecord.status == required.value]
    if run_id is not None:
        await runs.lock_run(session, run_id)
        where.append(PayrollRecord.payroll_run_id == run_id)
    if not ids:
        return where
    found = {
        r.id: r
        for r in (
            await session.execute(
                select(PayrollRecord.id, PayrollRecord.payroll_run_id).where(PayrollRecord.id.in_(set(ids)))
            )
        ).all()
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound("payroll record", str(missing[0]))
    if run_id is not None and any(r.payroll_run_id != run_id for r in found.values()):
        raise InvalidArgument.field("payroll_record_ids", "names records of another payroll run")
    await runs.lock_runs(session, {r.payroll_run_id for r in found.values()})
    statuses = dict(
        (
            await session.execute(
                select(PayrollRecord.id, PayrollRecord.status).where(PayrollRecord.id.in_(set(ids))).with_for_update()
            )
        ).all()
    )
    wrong = sorted(str(i) for i, status in statuses.items() if status != required.value)
    if wrong:
        shown = ", ".join(wrong[:MAX_IDS_IN_MESSAGE]) + (" ..." if len(wrong) > MAX_IDS_IN_MESSAGE else "")
        raise FailedPrecondition(f"{len(wrong)} payroll record(s) are not {required.value}: {shown}")
    where.append(PayrollRecord.id.in_(set(ids)))
    return where
