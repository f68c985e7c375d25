"""Four cross-service hops (employee -> payroll -> accounting -> accounting) cost one RPC per
service and level, whatever the number of employees; `_entities` of the new types are batched."""

from __future__ import annotations

from decimal import Decimal

import pytest
from erp.accounting.v1 import accounting_service_pb2 as acc
from erp.accounting.v1 import accounting_service_pb2_grpc as acc_grpc

from tests.gateway.payroll_data import PaidOrg
from tests.gateway.support import Gql

DEEP = """
query Deep($tag: String!, $first: Int!) {
  employees(filter: {query: $tag}, first: $first) {
    totalCount
    edges { node {
      id
      payrollRecords(first: 5) {
        totalCount
        edges { node {
          id grossPay netPay status
          employee { id }
          journalEntry {
            id journalNumber totalDebit totalCredit department sourceService
            source { __typename ... on PayrollRecord { id } }
            lines { lineNumber accountCode debitAmount creditAmount account { accountCode accountName accountType } }
          }
        } }
      }
    } }
  }
}
"""

# Level 1: one page of employees. Level 2: one ListPayrollRecords for all of them. Level 3: one
# BatchGetJournalEntries (with lines). Level 4: one BatchGetAccountsByCode. The records' employees
# and the entries' sources are already in the request's cache (primed by the listings).
EXPECTED_RPCS = {"ListEmployees": 1, "ListPayrollRecords": 1, "BatchGetJournalEntries": 1, "BatchGetAccountsByCode": 1}


@pytest.mark.parametrize("first", [5, 60])
async def test_four_hops_cost_one_rpc_per_service_and_level(gql: Gql, paid: PaidOrg, first: int) -> None:
    data, rpcs = await gql.counted(DEEP, {"tag": paid.org.tag, "first": first})

    assert rpcs == EXPECTED_RPCS
    page = data["employees"]
    assert page["totalCount"] == 60
    assert len(page["edges"]) == first
    by_employee = {r.employee_id: r for r in paid.records}
    for edge in page["edges"]:
        employee = edge["node"]
        record = by_employee[employee["id"]]
        assert employee["payrollRecords"]["totalCount"] == 1
        [node] = [e["node"] for e in employee["payrollRecords"]["edges"]]
        assert node["id"] == record.id
        assert node["status"] == "PROCESSED"
        assert node["grossPay"] == record.gross_pay.value
        assert node["employee"] == {"id": employee["id"]}
        entry = node["journalEntry"]
        assert entry["id"] == record.accounting_transaction_id
        assert entry["source"] == {"__typename": "PayrollRecord", "id": record.id}
        assert (entry["sourceService"], entry["department"]) == ("payroll", paid.department)
        assert entry["totalDebit"] == entry["totalCredit"] == record.gross_pay.value
        lines = {line["accountCode"]: line for line in entry["lines"]}
        assert lines["5200"]["debitAmount"] == record.gross_pay.value
        assert lines["5200"]["account"]["accountType"] == "EXPENSE"
        assert lines["2100"]["creditAmount"] == record.net_pay.value
        assert lines["2100"]["account"]["accountType"] == "LIABILITY"
        assert sum(Decimal(line["debitAmount"]) for line in entry["lines"]) == Decimal(record.gross_pay.value)


async def test_entities_of_the_new_types_cost_one_batch_per_type(
    gql: Gql, paid: PaidOrg, accounting: acc_grpc.AccountingServiceStub
) -> None:
    accounts = (await accounting.ListAccounts(acc.ListAccountsRequest(page_size=5))).accounts
    records = paid.records[:40]
    representations = (
        [{"__typename": "PayrollRecord", "id": r.id} for r in records]
        + [{"__typename": "JournalEntry", "id": r.accounting_transaction_id} for r in records]
        + [{"__typename": "PayrollRun", "id": paid.run.id}]
        + [{"__typename": "Account", "id": a.id} for a in accounts]
        + [{"__typename": "PayrollRecord", "id": "00000000-0000-4000-8000-000000000000"}]
    )
    query = """query($r: [_Any!]!) { _entities(representations: $r) {
      ... on PayrollRecord { id netPay }
      ... on JournalEntry { id journalNumber }
      ... on PayrollRun { id employeeCount status }
      ... on Account { id accountCode } } }"""

    data, rpcs = await gql.counted(query, {"r": representations})

    assert rpcs == {
        "BatchGetPayrollRecords": 1,
        "BatchGetJournalEntries": 1,
        "BatchGetPayrollRuns": 1,
        "BatchGetAccounts": 1,
    }
    entities = data["_entities"]
    assert [e["id"] for e in entities[:40]] == [r.id for r in records]
    assert entities[0]["netPay"] == records[0].net_pay.value
    assert [e["id"] for e in entities[40:80]] == [r.accounting_transaction_id for r in records]
    assert entities[80] == {"id": paid.run.id, "employeeCount": 61, "status": "PROCESSED"}
    assert [e["accountCode"] for e in entities[81:-1]] == [a.account_code for a in accounts]
    assert entities[-1] is None
