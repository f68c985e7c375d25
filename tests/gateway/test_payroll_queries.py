"""Payroll reads through the gateway: records and runs with filters and cursors, tax rates."""

from __future__ import annotations

from tests.gateway.payroll_data import PaidOrg
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
