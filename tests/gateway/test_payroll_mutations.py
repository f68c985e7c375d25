"""Payroll mutations through the gateway, with the real saga behind them (payroll + accounting)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from erp.accounting.v1 import accounting_service_pb2 as acc
from erp.accounting.v1 import accounting_service_pb2_grpc as acc_grpc
from erp.employee.v1 import employee_service_pb2_grpc as emp_grpc
from erp.payroll.v1 import payroll_pb2 as pb
from erp.payroll.v1 import payroll_service_pb2 as api
from erp.payroll.v1 import payroll_service_pb2_grpc as pay_grpc
from google.type.date_pb2 import Date

from tests.gateway.payroll_data import APPROVER, AS_APPROVER, AS_CREATOR, CREATOR, payroll_org, wait_for
from tests.gateway.support import Gql
from tests.runtime.helpers import eventually

TAX = """mutation($i: CreateTaxRateInput!) {
  createTaxRate(input: $i) { id year federalRate medicareRate effectiveFrom effectiveTo } }"""
RUN = """mutation($i: RunPayrollInput!) { runPayroll(input: $i) {
  skippedEmployeeIds payrollRun { id status employeeCount createdBy department totalGross totalNet } } }"""
APPROVE = "mutation($id: ID!) { approvePayrollRun(id: $id) { id status approvedBy approvedAt } }"
PAY = """mutation($i: MarkPayrollPaidInput!) {
  markPayrollPaid(input: $i) { totalNet payrollRecords { id status payDate netPay employee { id } } } }"""
RETRY = """mutation($i: RetryFailedPayrollRecordsInput!) {
  retryFailedPayrollRecords(input: $i) { payrollRecords { id status failureReason } } }"""
CLOSE = "mutation($id: ID!) { closeFiscalPeriod(id: $id) { id fiscalYear periodNumber status closedAt } }"


def rates(**overrides: str) -> dict[str, str]:
    return {
        "year": 2063,
        "federalRate": "0.1100",
        "stateRate": "0.0400",
        "socialSecurityRate": "0.0620",
        "medicareRate": "0.0145",
        "effectiveFrom": "2063-01-01",
        "effectiveTo": "2063-12-31",
        **overrides,
    }


async def test_create_tax_rate(gql: Gql, payroll: pay_grpc.PayrollServiceStub) -> None:
    created = (await gql.data(TAX, {"i": rates()}))["createTaxRate"]

    assert created == {
        "id": created["id"],
        "year": 2063,
        "federalRate": "0.1100",
        "medicareRate": "0.0145",
        "effectiveFrom": "2063-01-01",
        "effectiveTo": "2063-12-31",
    }
    error = await gql.error(TAX, {"i": rates(federalRate="1.5", effectiveFrom="2064-01-01", effectiveTo=None)})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["service"] == "payroll"
    assert {v["field"] for v in error["extensions"]["fieldViolations"]} == {"federal_rate"}, error
    overlap = await gql.error(TAX, {"i": rates(effectiveFrom="2063-06-01", effectiveTo=None)})
    assert overlap["extensions"]["code"] == "FAILED_PRECONDITION"


async def test_run_approve_and_pay_through_the_gateway(
    gql: Gql, stub: emp_grpc.EmployeeServiceStub, payroll: pay_grpc.PayrollServiceStub
) -> None:
    org = await payroll_org(stub, payroll, 3)
    department = org.departments[0].name
    period = {"payPeriodStart": "2061-02-01", "payPeriodEnd": "2061-02-28", "department": department}

    bad = await gql.as_user(CREATOR).error(RUN, {"i": {**period, "payPeriodEnd": "2061-01-15"}})
    assert bad["extensions"]["code"] == "BAD_USER_INPUT"
    ran = (await gql.as_user(CREATOR).data(RUN, {"i": period}))["runPayroll"]
    run = ran["payrollRun"]
    assert ran["skippedEmployeeIds"] == []
    assert (run["status"], run["employeeCount"], run["createdBy"], run["department"]) == (
        "PENDING",
        4,
        CREATOR,
        department,
    )

    anonymous = await gql.error(APPROVE, {"id": run["id"]})
    assert anonymous["extensions"] == {"code": "UNAUTHENTICATED", "service": "payroll", "grpcStatus": "UNAUTHENTICATED"}
    own = await gql.as_user(CREATOR).error(APPROVE, {"id": run["id"]})
    assert own["extensions"]["code"] == "FAILED_PRECONDITION"
    assert own["message"] == "the user who started a payroll run may not approve it"
    approved = (await gql.as_user(APPROVER).data(APPROVE, {"id": run["id"]}))["approvePayrollRun"]
    assert approved["approvedBy"] == APPROVER
    assert approved["status"] in {"PROCESSING", "PROCESSED"}
    records = await wait_for(payroll, run["id"], pb.PAYROLL_RECORD_STATUS_PROCESSED)

    both = {"payrollRunId": run["id"], "payrollRecordIds": [records[0].id], "payDate": "2061-03-01"}
    error = await gql.error(PAY, {"i": both})
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    paid = (await gql.data(PAY, {"i": {"payrollRunId": run["id"], "payDate": "2061-03-01"}}))["markPayrollPaid"]
    assert {r["id"] for r in paid["payrollRecords"]} == {r.id for r in records}
    assert {(r["status"], r["payDate"]) for r in paid["payrollRecords"]} == {("PAID", "2061-03-01")}
    assert Decimal(paid["totalNet"]) == sum(Decimal(r.net_pay.value) for r in records) == Decimal(run["totalNet"])
    assert {r["employee"]["id"] for r in paid["payrollRecords"]} == {e.id for e in org.employees + org.managers}

    # Accounting posts each payment (Dr 2100 / Cr 1010): the record shows that entry and when it was paid.
    payments = """query($id: ID!) { payrollRecord(id: $id) { netPay paidAt paymentTransactionId
      paymentEntry { totalDebit lines { accountCode debitAmount creditAmount } } } }"""

    async def payment_posted() -> dict[str, Any] | None:
        record = (await gql.data(payments, {"id": records[0].id}))["payrollRecord"]
        return record if record["paymentEntry"] else None

    record = await eventually(payment_posted, timeout_s=30, interval_s=0.2)
    assert record["paidAt"] and record["paymentTransactionId"]
    assert Decimal(record["paymentEntry"]["totalDebit"]) == Decimal(record["netPay"])
    assert {line["accountCode"] for line in record["paymentEntry"]["lines"]} == {"2100", "1010"}


async def test_close_a_period_then_retry_the_records_it_failed(
    gql: Gql,
    stub: emp_grpc.EmployeeServiceStub,
    payroll: pay_grpc.PayrollServiceStub,
    accounting: acc_grpc.AccountingServiceStub,
) -> None:
    period = await accounting.CreateFiscalPeriod(
        acc.CreateFiscalPeriodRequest(
            fiscal_year=2062,
            period_number=3,
            start_date=Date(year=2062, month=3, day=1),
            end_date=Date(year=2062, month=3, day=31),
        )
    )
    closed = (await gql.data(CLOSE, {"id": period.fiscal_period.id}))["closeFiscalPeriod"]
    assert (closed["fiscalYear"], closed["periodNumber"], closed["status"]) == (2062, 3, "CLOSED")
    assert closed["closedAt"]
    again = await gql.error(CLOSE, {"id": period.fiscal_period.id})
    assert again["extensions"]["code"] == "FAILED_PRECONDITION"

    org = await payroll_org(stub, payroll, 2)
    run = await payroll.RunPayroll(
        api.RunPayrollRequest(
            pay_period_start=Date(year=2062, month=3, day=1),
            pay_period_end=Date(year=2062, month=3, day=28),
            department=org.departments[0].name,
        ),
        metadata=AS_CREATOR,
    )
    await payroll.ApprovePayrollRun(api.ApprovePayrollRunRequest(id=run.payroll_run.id), metadata=AS_APPROVER)
    failed = await wait_for(payroll, run.payroll_run.id, pb.PAYROLL_RECORD_STATUS_FAILED)
    assert all("closed" in r.failure_reason for r in failed), [r.failure_reason for r in failed]

    unknown = await gql.error(RETRY, {"i": {"payrollRecordIds": ["00000000-0000-4000-8000-000000000000"]}})
    assert unknown["extensions"]["code"] == "NOT_FOUND"
    retried = (await gql.data(RETRY, {"i": {"payrollRunId": run.payroll_run.id}}))["retryFailedPayrollRecords"]
    assert {r["id"] for r in retried["payrollRecords"]} == {r.id for r in failed}
    assert {(r["status"], r["failureReason"]) for r in retried["payrollRecords"]} == {("PROCESSING", None)}
    await wait_for(payroll, run.payroll_run.id, pb.PAYROLL_RECORD_STATUS_FAILED)  # the period is still closed
