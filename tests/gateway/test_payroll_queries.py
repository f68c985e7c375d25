"""Payroll reads through the gateway: records and runs with filters and cursors, tax rates."""

from __future__ import annotations

import grpc
from erp.employee.v1 import employee_service_pb2_grpc as emp_grpc
from erp.payroll.v1 import payroll_service_pb2 as pay_api
from erp.payroll.v1 import payroll_service_pb2_grpc as pay_grpc

from tests.gateway.payroll_data import AS_CREATOR, PaidOrg, payroll_org, period
from tests.gateway.support import Gql


async def test_payroll_records_of_a_run_page_by_page(gql: Gql, paid: PaidOrg) -> None:
    query = """query($run: ID!, $after: String) {
      payrollRecords(filter: {payrollRunId: $run, statuses: [PROCESSED]}, first: 25, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id payrollRun { id status } } } } }"""
    seen: list[str] = []
    after = None
    while True:
        page = (await gql.data(query, {"run": paid.run.id, "after": after}))["payrollRecords"]
        assert page["totalCount"] == 61
        seen += [e["node"]["id"] for e in page["edges"]]
        assert {e["node"]["payrollRun"]["id"] for e in page["edges"]} == {paid.run.id}
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert sorted(seen) == sorted(r.id for r in paid.records)


async def test_payroll_runs_records_by_employee_and_tax_rates(gql: Gql, paid: PaidOrg) -> None:
    employee = paid.org.employees[0].id
    query = """query($d: String!, $e: ID!, $run: ID!) {
      payrollRuns(filter: {department: $d, periodStartFrom: "2061-01-01", periodEndTo: "2061-01-31"}) {
        totalCount edges { node { id status employeeCount totalGross totalNet failedCount } } }
      payrollRecords(filter: {employeeIds: [$e]}) { totalCount edges { node { employee { id } department } } }
      payrollRun(id: $run) { id department }
      taxRates(year: 2061) { totalCount edges { node { year federalRate effectiveFrom effectiveTo } } } }"""

    data = await gql.data(query, {"d": paid.department, "e": employee, "run": paid.run.id})

    [run] = [e["node"] for e in data["payrollRuns"]["edges"]]
    assert run == {
        "id": paid.run.id,
        "status": "PROCESSED",
        "employeeCount": 61,
        "totalGross": paid.run.total_gross.value,
        "totalNet": paid.run.total_net.value,
        "failedCount": 0,
    }
    assert data["payrollRecords"]["totalCount"] == 1
    assert data["payrollRecords"]["edges"][0]["node"] == {"employee": {"id": employee}, "department": paid.department}
    assert data["payrollRun"] == {"id": paid.run.id, "department": paid.department}
    assert data["taxRates"]["edges"] == [
        {"node": {"year": 2061, "federalRate": "0.1200", "effectiveFrom": "2061-01-01", "effectiveTo": "2061-12-31"}}
    ]


async def test_unknown_payroll_record_is_not_found(gql: Gql, paid: PaidOrg) -> None:
    error = await gql.error('{ payrollRecord(id: "00000000-0000-4000-8000-000000000000") { id } }')

    assert error["extensions"] == {"code": "NOT_FOUND", "service": "payroll", "grpcStatus": "NOT_FOUND"}


EMPLOYEE_RECORDS = """
query($tag: String!, $first: Int!, $after: String) {
  employees(filter: {query: $tag}, first: 10) { edges { node {
    id payrollRecords(first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { payPeriodStart employee { id } } }
    }
  } } }
}"""


async def test_employees_latest_records_page_by_page_in_one_listing(
    gql: Gql, employee_channel: grpc.aio.Channel, payroll: pay_grpc.PayrollServiceStub
) -> None:
    """Employee.payrollRecords: each employee's latest records first, totalCount over all of
    them, offset cursors; one ListPayrollRecords for all the employees of the page."""
    org = await payroll_org(emp_grpc.EmployeeServiceStub(employee_channel), payroll, 2)
    for month in (9, 10, 11):
        start, end = period(month)
        await payroll.RunPayroll(
            pay_api.RunPayrollRequest(pay_period_start=start, pay_period_end=end, department=org.departments[0].name),
            metadata=AS_CREATOR,
        )
    data, rpcs = await gql.counted(EMPLOYEE_RECORDS, {"tag": org.tag, "first": 2})
    assert rpcs == {"ListEmployees": 1, "ListPayrollRecords": 1}
    employees = [e["node"] for e in data["employees"]["edges"]]
    assert len(employees) >= 2
    for employee in employees:
        page = employee["payrollRecords"]
        assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"] is True
        assert [e["node"]["payPeriodStart"] for e in page["edges"]] == ["2061-11-01", "2061-10-01"]
        assert {e["node"]["employee"]["id"] for e in page["edges"]} == {employee["id"]}
    cursor = employees[0]["payrollRecords"]["pageInfo"]["endCursor"]
    rest = await gql.data(EMPLOYEE_RECORDS, {"tag": org.tag, "first": 2, "after": cursor})
    for edge in rest["employees"]["edges"]:
        page = edge["node"]["payrollRecords"]
        assert [e["node"]["payPeriodStart"] for e in page["edges"]] == ["2061-09-01"]
        assert page["totalCount"] == 3 and page["pageInfo"]["hasNextPage"] is False
