"""Root query fields over the payroll service: records, runs and tax rates."""

from __future__ import annotations

from datetime import date

import strawberry
from erp.payroll.v1 import payroll_pb2 as pb
from erp.payroll.v1 import payroll_service_pb2 as api

from gateway.context import GatewayInfo
from gateway.pagination import Connection, ServicePage, remote_connection
from gateway.types.payroll_record import RECORD_STATUS, PayrollRecord, PayrollRecordStatus
from gateway.types.payroll_run import RUN_STATUS, PayrollRun, PayrollRunStatus
from gateway.types.tax_rate import TaxRate
from services.runtime.convert import date_to_pb


@strawberry.input(description="Payroll records matching all the given criteria.")
class PayrollRecordFilter:
    employee_ids: list[strawberry.ID] | None = None
    statuses: list[PayrollRecordStatus] | None = None
    payroll_run_id: strawberry.ID | None = None
    department: str | None = strawberry.field(default=None, description="Exact department name.")
    period_start_from: date | None = strawberry.field(default=None, description="Pay period starts on or after.")
    period_end_to: date | None = strawberry.field(default=None, description="Pay period ends on or before.")


@strawberry.input(description="Payroll runs matching all the given criteria.")
class PayrollRunFilter:
    statuses: list[PayrollRunStatus] | None = None
    department: str | None = strawberry.field(default=None, description="Exact department name.")
    period_start_from: date | None = None
    period_end_to: date | None = None


@strawberry.type
class PayrollQueries:
    @strawberry.field(description="One payroll record; NOT_FOUND when the id names none.")
    async def payroll_record(self, info: GatewayInfo, id: strawberry.ID) -> PayrollRecord | None:
        request = api.GetPayrollRecordRequest(id=id)
        record = (await info.context.clients.payroll.call(lambda s: s.GetPayrollRecord(request))).payroll_record
        info.context.loaders.remember([record])
        return PayrollRecord.from_proto(record)

    @strawberry.field(description="Payroll records, newest pay period first, then employee name.")
    async def payroll_records(
        self,
        info: GatewayInfo,
        filter: PayrollRecordFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[PayrollRecord]:
        f = filter or PayrollRecordFilter()

        async def fetch(size: int, token: str) -> ServicePage[pb.PayrollRecord]:
            request = api.ListPayrollRecordsRequest(
                page_size=size,
                page_token=token,
                employee_ids=list(f.employee_ids or ()),
                statuses=RECORD_STATUS.to_pb_list(f.statuses),
                payroll_run_id=f.payroll_run_id or "",
                department=f.department or "",
                period_start_from=date_to_pb(f.period_start_from),
                period_end_to=date_to_pb(f.period_end_to),
            )
            response = await info.context.clients.payroll.call(lambda s: s.ListPayrollRecords(request))
            info.context.loaders.remember(response.payroll_records)
            return ServicePage(response.payroll_records, response.next_page_token, response.total_size)

        return await remote_connection(fetch, PayrollRecord.from_proto, first, after)

    @strawberry.field(description="One payroll run; NOT_FOUND when the id names none.")
    async def payroll_run(self, info: GatewayInfo, id: strawberry.ID) -> PayrollRun | None:
        request = api.GetPayrollRunRequest(id=id)
        run = (await info.context.clients.payroll.call(lambda s: s.GetPayrollRun(request))).payroll_run
        info.context.loaders.remember([run])
        return PayrollRun.from_proto(run)

    @strawberry.field(description="Payroll runs, newest pay period first.")
    async def payroll_runs(
        self,
        info: GatewayInfo,
        filter: PayrollRunFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[PayrollRun]:
        f = filter or PayrollRunFilter()

        async def fetch(size: int, token: str) -> ServicePage[pb.PayrollRun]:
            request = api.ListPayrollRunsRequest(
                page_size=size,
                page_token=token,
                statuses=RUN_STATUS.to_pb_list(f.statuses),
                department=f.department or "",
                period_start_from=date_to_pb(f.period_start_from),
                period_end_to=date_to_pb(f.period_end_to),
            )
            response = await info.context.clients.payroll.call(lambda s: s.ListPayrollRuns(request))
            info.context.loaders.remember(response.payroll_runs)
            return ServicePage(response.payroll_runs, response.next_page_token, response.total_size)

        return await remote_connection(fetch, PayrollRun.from_proto, first, after)

    @strawberry.field(description="Tax rate sets, newest first.")
    async def tax_rates(
        self,
        info: GatewayInfo,
        year: int | None = None,
        effective_on: date | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[TaxRate]:
        async def fetch(size: int, token: str) -> ServicePage[pb.TaxRate]:
            request = api.ListTaxRatesRequest(
                page_size=size, page_token=token, year=year or 0, effective_on=date_to_pb(effective_on)
            )
            response = await info.context.clients.payroll.call(lambda s: s.ListTaxRates(request))
            return ServicePage(response.tax_rates, response.next_page_token, response.total_size)

        return await remote_connection(fetch, TaxRate.from_proto, first, after)
