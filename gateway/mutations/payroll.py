"""Payroll commands: tax rates, runs and the saga's steps (approve, pay, retry).

Approving needs the caller's identity (`x-erp-user-id`), and someone other than who started the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import strawberry
from erp.payroll.v1 import payroll_pb2 as pb
from erp.payroll.v1 import payroll_service_pb2 as api

from gateway.context import GatewayInfo
from gateway.types.payroll_record import PayrollRecord
from gateway.types.payroll_run import PayrollRun
from gateway.types.tax_rate import TaxRate
from gateway.wire import amount_of, fill, provided
from services.runtime.convert import date_to_pb


@strawberry.input(description="Rates are fractions between 0 and 1; the date range must not overlap another set.")
class CreateTaxRateInput:
    year: int
    federal_rate: Decimal
    state_rate: Decimal
    social_security_rate: Decimal
    medicare_rate: Decimal
    effective_from: date
    effective_to: date | None = None


@strawberry.input(description="Pays every active employee (of one department when given) for the period.")
class RunPayrollInput:
    pay_period_start: date
    pay_period_end: date
    department: str | None = strawberry.field(default=None, description="Exact department name.")


@strawberry.input(description="Give either `payrollRunId` (all its PROCESSED records) or `payrollRecordIds`.")
class MarkPayrollPaidInput:
    pay_date: date
    payroll_run_id: strawberry.ID | None = None
    payroll_record_ids: list[strawberry.ID] | None = None


@strawberry.input(description="Give `payrollRunId` (all its FAILED records) and/or `payrollRecordIds`.")
class RetryFailedPayrollRecordsInput:
    payroll_run_id: strawberry.ID | None = None
    payroll_record_ids: list[strawberry.ID] | None = None


@strawberry.type
class RunPayrollPayload:
    payroll_run: PayrollRun
    skipped_employee_ids: list[strawberry.ID] = strawberry.field(
        description="Employees left out: they already have a record for an overlapping period."
    )


@strawberry.type
class MarkPayrollPaidPayload:
    payroll_records: list[PayrollRecord] = strawberry.field(description="The records now PAID.")
    total_net: Decimal


@strawberry.type
class RetryFailedPayrollRecordsPayload:
    payroll_records: list[PayrollRecord] = strawberry.field(description="The records sent again, now PROCESSING.")


def _records(info: GatewayInfo, records: Sequence[pb.PayrollRecord]) -> list[PayrollRecord]:
    info.context.loaders.remember(records, changed=True)
    info.context.loaders.payroll.recent_records.clear_all()
    return [PayrollRecord.from_proto(r) for r in records]


def _run(info: GatewayInfo, run: pb.PayrollRun) -> PayrollRun:
    info.context.loaders.remember([run], changed=True)
    return PayrollRun.from_proto(run)


@strawberry.type
class PayrollMutations:
    @strawberry.mutation(description="Creates a tax rate set.")
    async def create_tax_rate(self, info: GatewayInfo, input: CreateTaxRateInput) -> TaxRate | None:
        request = api.CreateTaxRateRequest()
        fill(request, provided(input))
        response = await info.context.clients.payroll.call(lambda s: s.CreateTaxRate(request))
        return TaxRate.from_proto(response.tax_rate)

    @strawberry.mutation(description="Calculates PENDING records for the period; the run then waits for approval.")
    async def run_payroll(self, info: GatewayInfo, input: RunPayrollInput) -> RunPayrollPayload | None:
        request = api.RunPayrollRequest(
            pay_period_start=date_to_pb(input.pay_period_start),
            pay_period_end=date_to_pb(input.pay_period_end),
            department=input.department or "",
        )
        response = await info.context.clients.payroll.call(lambda s: s.RunPayroll(request))
        info.context.loaders.payroll.recent_records.clear_all()
        return RunPayrollPayload(
            payroll_run=_run(info, response.payroll_run),
            skipped_employee_ids=[strawberry.ID(i) for i in response.skipped_employee_ids],
        )

    @strawberry.mutation(description="Approves a PENDING run (not by who started it); its records go to accounting.")
    async def approve_payroll_run(self, info: GatewayInfo, id: strawberry.ID) -> PayrollRun | None:
        request = api.ApprovePayrollRunRequest(id=id)
        response = await info.context.clients.payroll.call(lambda s: s.ApprovePayrollRun(request))
        info.context.loaders.payroll.recent_records.clear_all()
        return _run(info, response.payroll_run)

    @strawberry.mutation(description="Marks PROCESSED records as PAID; accounting then posts the payment.")
    async def mark_payroll_paid(self, info: GatewayInfo, input: MarkPayrollPaidInput) -> MarkPayrollPaidPayload | None:
        request = api.MarkPayrollPaidRequest(
            payroll_run_id=input.payroll_run_id or "",
            payroll_record_ids=list(input.payroll_record_ids or ()),
            pay_date=date_to_pb(input.pay_date),
        )
        response = await info.context.clients.payroll.call(lambda s: s.MarkPayrollPaid(request))
        return MarkPayrollPaidPayload(
            payroll_records=_records(info, response.payroll_records), total_net=amount_of(response.total_net)
        )

    @strawberry.mutation(description="Sends FAILED records to accounting again.")
    async def retry_failed_payroll_records(
        self, info: GatewayInfo, input: RetryFailedPayrollRecordsInput
    ) -> RetryFailedPayrollRecordsPayload | None:
        request = api.RetryFailedRecordsRequest(
            payroll_run_id=input.payroll_run_id or "", payroll_record_ids=list(input.payroll_record_ids or ())
        )
        response = await info.context.clients.payroll.call(lambda s: s.RetryFailedRecords(request))
        return RetryFailedPayrollRecordsPayload(payroll_records=_records(info, response.payroll_records))
