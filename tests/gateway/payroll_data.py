"""Payroll data for the gateway tests: tax rates, departments paid through the real saga.

Years: payroll and accounting share their databases with other folders' tests (payroll's use
2020-2030, accounting's 2101 on), so everything here is dated in 2061-2069.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from erp.employee.v1 import employee_service_pb2_grpc as emp_grpc
from erp.payroll.v1 import payroll_pb2 as pb
from erp.payroll.v1 import payroll_service_pb2 as api
from erp.payroll.v1 import payroll_service_pb2_grpc as pay_grpc
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal

from tests.gateway.support import Org, build_org
from tests.runtime.helpers import eventually

TAX_YEARS = (2061, 2062)
PAYROLL_YEAR = 2061  # the year the tests run payroll in (one month per test: see `period`)
CREATOR = str(uuid.uuid4())
APPROVER = str(uuid.uuid4())
AS_CREATOR = (("x-erp-user-id", CREATOR),)
AS_APPROVER = (("x-erp-user-id", APPROVER),)


async def create_tax_rates(stub: pay_grpc.PayrollServiceStub, years: tuple[int, ...]) -> None:
    for year in years:
        await stub.CreateTaxRate(
            api.CreateTaxRateRequest(
                year=year,
                federal_rate=PbDecimal(value="0.1200"),
                state_rate=PbDecimal(value="0.0500"),
                social_security_rate=PbDecimal(value="0.0620"),
                medicare_rate=PbDecimal(value="0.0145"),
                effective_from=Date(year=year, month=1, day=1),
                effective_to=Date(year=year, month=12, day=31),
            )
        )


def period(month: int, year: int = PAYROLL_YEAR) -> tuple[Date, Date]:
    """A pay period (the whole month; months of 28 days are enough for every month)."""
    return Date(year=year, month=month, day=1), Date(year=year, month=month, day=28)


@dataclass
class PaidOrg:
    org: Org
    department: str
    run: pb.PayrollRun
    records: list[pb.PayrollRecord]


async def payroll_org(
    employees: emp_grpc.EmployeeServiceStub, payroll: pay_grpc.PayrollServiceStub, size: int, departments: int = 1
) -> Org:
    """`size` employees in new departments, in payroll's employee cache (this package's payroll
    hears no employee events: it is on a private subject root, so the cache is rebuilt for them)."""
    org = await build_org(employees, size, departments)
    ids = [e.id for e in org.employees + org.managers]
    await payroll.RebuildEmployeeCache(api.RebuildEmployeeCacheRequest(employee_ids=ids))
    return org


async def records_of(payroll: pay_grpc.PayrollServiceStub, run_id: str) -> list[pb.PayrollRecord]:
    request = api.ListPayrollRecordsRequest(payroll_run_id=run_id, page_size=1000)
    return list((await payroll.ListPayrollRecords(request)).payroll_records)


async def wait_for(payroll: pay_grpc.PayrollServiceStub, run_id: str, status: int) -> list[pb.PayrollRecord]:
    """The run's records once every one has `status` (the saga answered)."""

    async def check() -> list[pb.PayrollRecord]:
        records = await records_of(payroll, run_id)
        return records if records and all(r.status == status for r in records) else []

    return await eventually(check, timeout_s=60, interval_s=0.2)


async def paid_through_saga(
    employees: emp_grpc.EmployeeServiceStub, payroll: pay_grpc.PayrollServiceStub, size: int, month: int
) -> PaidOrg:
    """A department of `size` employees (plus its manager) run and approved for `month`, every
    record PROCESSED by accounting (so each has its journal entry)."""
    org = await payroll_org(employees, payroll, size)
    department = org.departments[0].name
    start, end = period(month)
    run = await payroll.RunPayroll(
        api.RunPayrollRequest(pay_period_start=start, pay_period_end=end, department=department), metadata=AS_CREATOR
    )
    assert run.payroll_run.employee_count == size + 1, run
    await payroll.ApprovePayrollRun(api.ApprovePayrollRunRequest(id=run.payroll_run.id), metadata=AS_APPROVER)
    records = await wait_for(payroll, run.payroll_run.id, pb.PAYROLL_RECORD_STATUS_PROCESSED)
    return PaidOrg(org, department, run.payroll_run, records)
