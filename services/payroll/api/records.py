"""Payroll records: get, batch get, list with filters, and the one edit allowed (deductions)."""

from __future__ import annotations

import uuid
from typing import Any

from erp.payroll.v1 import payroll_service_pb2 as api
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.payroll import domain, mapping
from services.payroll.api.base import ApiBase
from services.payroll.runs import lock_run
from services.payroll.tables import PayrollRecord
from services.runtime.convert import date_from_pb, money_from_pb, uuid_from_str, uuids_from_strs
from services.runtime.errors import FailedPrecondition, InvalidArgument, NotFound, Validator
from services.runtime.repository import batch_get, get_or_404, get_versioned_for_update, list_page

UPDATABLE_RECORD_FIELDS = frozenset({"deductions"})


class RecordsApi(ApiBase):
    async def GetPayrollRecord(
        self, request: api.GetPayrollRecordRequest, context_: Any
    ) -> api.GetPayrollRecordResponse:
        key = uuid_from_str(request.id, "id")
        assert key is not None
        async with self.db.read() as s:
            row = await get_or_404(s, PayrollRecord, key, "payroll record")
        return api.GetPayrollRecordResponse(payroll_record=mapping.record_to_pb(row))

    async def BatchGetPayrollRecords(
        self, request: api.BatchGetPayrollRecordsRequest, context_: Any
    ) -> api.BatchGetPayrollRecordsResponse:
        keys = uuids_from_strs(list(request.ids), "ids")
        async with self.db.read() as s:
            rows = await batch_get(s, PayrollRecord, keys)
        return api.BatchGetPayrollRecordsResponse(payroll_records=[mapping.record_to_pb(r) for r in rows])

    async def ListPayrollRecords(
        self, request: api.ListPayrollRecordsRequest, context_: Any
    ) -> api.ListPayrollRecordsResponse:
        v = Validator()
        employees = v.collect(lambda: uuids_from_strs(list(request.employee_ids), "employee_ids")) or []
        statuses = v.enum_values(request.statuses, mapping.RECORD_STATUS_FROM_PB, "statuses")
        run_id = v.collect(lambda: uuid_from_str(request.payroll_run_id, "payroll_run_id", required=False))
        start_from = v.collect(lambda: date_from_pb(request.period_start_from, "period_start_from", required=False))
        end_to = v.collect(lambda: date_from_pb(request.period_end_to, "period_end_to", required=False))
        v.max_len(request.department, "department", 100)
        limit = request.per_employee_limit
        v.check(0 <= limit <= 1000, "per_employee_limit", "must be between 0 and 1000")
        v.check(not limit or bool(request.employee_ids), "per_employee_limit", "needs employee_ids")
        v.raise_if_any()
        conditions: list[ColumnElement[bool]] = []
        if employees:
            conditions.append(PayrollRecord.employee_id.in_(employees))
        if statuses:
            conditions.append(PayrollRecord.status.in_([s.value for s in statuses]))
        if run_id is not None:
            conditions.append(PayrollRecord.payroll_run_id == run_id)
        if request.department:
            conditions.append(PayrollRecord.department == request.department)
        if start_from is not None:
            conditions.append(PayrollRecord.pay_period_start >= start_from)
        if end_to is not None:
            conditions.append(PayrollRecord.pay_period_end <= end_to)
        stmt = select(PayrollRecord).where(*conditions)
        if limit:
            stmt = stmt.where(PayrollRecord.id.in_(_first_per_employee(conditions, limit)))
        filters = (
            sorted(map(str, employees)),
            sorted(statuses),
            str(run_id),
            request.department,
            start_from,
            end_to,
            limit,
        )
        async with self.db.read() as s:
            page = await list_page(
                s, stmt, LIST_ORDER, page_size=request.page_size, page_token=request.page_token, filters=filters
            )
            counts = await _counts_per_employee(s, conditions) if limit else {}
        return api.ListPayrollRecordsResponse(
            payroll_records=[mapping.record_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
            employee_counts=[
                api.EmployeeRecordCount(employee_id=str(e), total_size=n) for e, n in sorted(counts.items())
            ],
        )

    async def UpdatePayrollRecord(
        self, request: api.UpdatePayrollRecordRequest, context_: Any
    ) -> api.UpdatePayrollRecordResponse:
        paths = set(request.update_mask.paths)
        if not paths:
            raise InvalidArgument.field("update_mask", "must name at least one field")
        unknown = sorted(paths - UPDATABLE_RECORD_FIELDS)
        if unknown:
            raise InvalidArgument.field("update_mask", f"cannot update {', '.join(unknown)}")
        v = Validator()
        key = v.collect(lambda: uuid_from_str(request.payroll_record.id, "payroll_record.id"))
        deductions = v.collect(lambda: money_from_pb(request.payroll_record.deductions, "payroll_record.deductions"))
        v.check(deductions is None or deductions >= 0, "payroll_record.deductions", "must not be negative")
        v.check(request.version >= 0, "version", "must not be negative")
        v.raise_if_any()
        assert key is not None and deductions is not None
        now = self.clock.now()
        async with self.db.unit_of_work() as uow:
            run_id = (
                await uow.session.execute(select(PayrollRecord.payroll_run_id).where(PayrollRecord.id == key))
            ).scalar_one_or_none()
            if run_id is None:
                raise NotFound("payroll record", str(key))
            run = await lock_run(uow.session, run_id)
            row = await get_versioned_for_update(uow.session, PayrollRecord, key, request.version, "payroll record")
            if row.status != domain.RecordStatus.PENDING:
                raise FailedPrecondition(f"only a pending payroll record can be changed (status is {row.status})")
            taxes = row.federal_tax + row.state_tax + row.social_security_tax + row.medicare_tax
            net = domain.net_pay(row.gross_pay, taxes, deductions)
            delta = deductions - row.deductions
            if delta:
                row.deductions, row.net_pay = deductions, net
                row.version += 1
                row.updated_at = now
                run.total_deductions += delta
                run.total_net -= delta
                run.updated_at = now
        return api.UpdatePayrollRecordResponse(payroll_record=mapping.record_to_pb(row))


# ListPayrollRecords' order: pay period start (newest first: period_order ascends), employee name, id.
LIST_ORDER = (PayrollRecord.period_order, PayrollRecord.employee_name, PayrollRecord.id)


def _first_per_employee(conditions: list[ColumnElement[bool]], limit: int) -> Select[Any]:
    """The ids of each employee's first `limit` matching records, in the list's order."""
    rank = func.row_number().over(partition_by=PayrollRecord.employee_id, order_by=LIST_ORDER).label("rank")
    ranked = select(PayrollRecord.id, rank).where(*conditions).subquery()
    return select(ranked.c.id).where(ranked.c.rank <= limit)


async def _counts_per_employee(session: AsyncSession, conditions: list[ColumnElement[bool]]) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(PayrollRecord.employee_id, func.count())
        .where(*conditions)
        .group_by(PayrollRecord.employee_id)
        .order_by(PayrollRecord.employee_id)
    )
    return {row[0]: int(row[1]) for row in rows}
