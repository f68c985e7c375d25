"""Payroll runs: RunPayroll (the set-based calculation) and reading runs back."""

from __future__ import annotations

import uuid
import zlib
from decimal import Decimal
from typing import Any

from erp.payroll.v1 import payroll_service_pb2 as api
from sqlalchemy import func, select

from services.payroll import calculation, domain, mapping
from services.payroll.api.base import ApiBase
from services.payroll.tables import PayrollRun
from services.runtime import context
from services.runtime.convert import date_from_pb, uuids_from_strs
from services.runtime.errors import Validator
from services.runtime.repository import batch_get, get_or_404, list_page

# RunPayroll calls are serialised per database (transaction-scoped advisory lock), so two runs
# over overlapping periods cannot both pay the same employee.
RUN_LOCK_KEY = zlib.crc32(b"erp-payroll-run")


class RunsApi(ApiBase):
    async def RunPayroll(self, request: api.RunPayrollRequest, context_: Any) -> api.RunPayrollResponse:
        v = Validator()
        start = v.collect(lambda: date_from_pb(request.pay_period_start, "pay_period_start"))
        end = v.collect(lambda: date_from_pb(request.pay_period_end, "pay_period_end"))
        domain.validate_period(v, start, end)
        department = request.department.strip() or None
        v.max_len(department, "department", 100)
        v.raise_if_any()
        assert start is not None and end is not None
        now = self.clock.now()
        async with self.db.unit_of_work() as uow:
            s = uow.session
            await s.execute(select(func.pg_advisory_xact_lock(RUN_LOCK_KEY)))
            tax_rate = await calculation.tax_rate_on(s, end)
            employees = await calculation.payable_employees(s, start, end, department)
            fresh = [e for e in employees if not e.already_paid]
            priced = calculation.price(fresh, start, end, calculation.rates_of(tax_rate))
            run = PayrollRun(
                id=uuid.uuid4(),
                pay_period_start=start,
                pay_period_end=end,
                department=department,
                status=domain.RunStatus.PENDING.value,
                tax_rate_id=tax_rate.id,
                created_by=context.caller_id(),
                approved_by=None,
                approved_at=None,
                created_at=now,
                updated_at=now,
            )
            _set_totals(run, [])
            s.add(run)
            await s.flush()
            inserted = await calculation.insert_records(s, run.id, start, end, priced, now)
            _set_totals(run, [p for p in priced if p.employee_id in inserted])
            uow.record(mapping.run_created(run), aggregate_type="PayrollRun", aggregate_id=run.id)
        skipped = sorted(str(e.employee_id) for e in employees if e.employee_id not in inserted)
        return api.RunPayrollResponse(payroll_run=mapping.run_to_pb(run), skipped_employee_ids=skipped)

    async def GetPayrollRun(self, request: api.GetPayrollRunRequest, context_: Any) -> api.GetPayrollRunResponse:
        key = uuids_from_strs([request.id], "id")[0]
        async with self.db.read() as s:
            row = await get_or_404(s, PayrollRun, key, "payroll run")
        return api.GetPayrollRunResponse(payroll_run=mapping.run_to_pb(row))

    async def BatchGetPayrollRuns(
        self, request: api.BatchGetPayrollRunsRequest, context_: Any
    ) -> api.BatchGetPayrollRunsResponse:
        keys = uuids_from_strs(list(request.ids), "ids")
        async with self.db.read() as s:
            rows = await batch_get(s, PayrollRun, keys)
        return api.BatchGetPayrollRunsResponse(payroll_runs=[mapping.run_to_pb(r) for r in rows])

    async def ListPayrollRuns(self, request: api.ListPayrollRunsRequest, context_: Any) -> api.ListPayrollRunsResponse:
        v = Validator()
        statuses = v.enum_values(request.statuses, mapping.RUN_STATUS_FROM_PB, "statuses")
        start_from = v.collect(lambda: date_from_pb(request.period_start_from, "period_start_from", required=False))
        end_to = v.collect(lambda: date_from_pb(request.period_end_to, "period_end_to", required=False))
        v.max_len(request.department, "department", 100)
        v.raise_if_any()
        stmt = select(PayrollRun)
        if statuses:
            stmt = stmt.where(PayrollRun.status.in_([s.value for s in statuses]))
        if request.department:
            stmt = stmt.where(PayrollRun.department == request.department)
        if start_from is not None:
            stmt = stmt.where(PayrollRun.pay_period_start >= start_from)
        if end_to is not None:
            stmt = stmt.where(PayrollRun.pay_period_end <= end_to)
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [PayrollRun.pay_period_start, PayrollRun.id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=(sorted(statuses), request.department, start_from, end_to),
                descending=True,
            )
        return api.ListPayrollRunsResponse(
            payroll_runs=[mapping.run_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )


def _set_totals(run: PayrollRun, priced: list[calculation.PricedRecord]) -> None:
    def total(pick: Any) -> Decimal:
        return sum((pick(p.pay) for p in priced), domain.ZERO)

    run.employee_count = run.pending_count = len(priced)
    run.processing_count = run.processed_count = run.paid_count = run.failed_count = 0
    run.total_gross = total(lambda pay: pay.gross)
    run.total_federal_tax = total(lambda pay: pay.federal_tax)
    run.total_state_tax = total(lambda pay: pay.state_tax)
    run.total_social_security_tax = total(lambda pay: pay.social_security_tax)
    run.total_medicare_tax = total(lambda pay: pay.medicare_tax)
    run.total_deductions = total(lambda pay: pay.deductions)
    run.total_net = total(lambda pay: pay.net)
