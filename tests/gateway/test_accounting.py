"""Accounting through the gateway: journal entries (post, reverse, list), accounts and reports."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from erp.accounting.v1 import accounting_service_pb2_grpc as acc_grpc

from tests.gateway.payroll_data import PaidOrg
from tests.gateway.support import Gql, tag

ENTRY = """id journalNumber entryDate status description department sourceService source { id }
  totalDebit totalCredit lines { lineNumber accountCode debitAmount creditAmount account { accountName } }"""
POST = f"mutation($i: PostJournalEntryInput!) {{ postJournalEntry(input: $i) {{ {ENTRY} }} }}"
REVERSE = """mutation($i: ReverseJournalEntryInput!) { reverseJournalEntry(input: $i) {
  reversedEntry { id status reversedBy { id } }
  reversalEntry { id status entryDate description reversalOf { id }
    lines { accountCode debitAmount creditAmount } } } }"""


def entry(department: str, debit: str = "100.00", credit: str = "100.00") -> dict[str, Any]:
    return {
        "entryDate": "2063-05-10",
        "description": "Cash sale",
        "department": department,
        "lines": [
            {"accountCode": "1010", "debitAmount": debit, "description": "till"},
            {"accountCode": "4100", "creditAmount": credit},
        ],
    }


async def test_post_and_reverse_a_journal_entry(gql: Gql, accounting: acc_grpc.AccountingServiceStub) -> None:
    department = f"GW {tag()}"
    posted = (await gql.data(POST, {"i": entry(department)}))["postJournalEntry"]
    assert posted["status"] == "POSTED"
    assert posted["journalNumber"].startswith("JE-2063-")
    assert (posted["entryDate"], posted["department"], posted["sourceService"], posted["source"]) == (
        "2063-05-10",
        department,
        "manual",
        None,
    )
    assert posted["totalDebit"] == posted["totalCredit"] == "100.00"
    assert [(line["accountCode"], line["debitAmount"], line["creditAmount"]) for line in posted["lines"]] == [
        ("1010", "100.00", "0.00"),
        ("4100", "0.00", "100.00"),
    ]
    assert all(line["account"]["accountName"] for line in posted["lines"])

    unbalanced = await gql.error(POST, {"i": entry(department, credit="99.99")})
    assert unbalanced["extensions"]["code"] == "BAD_USER_INPUT"
    assert unbalanced["extensions"]["service"] == "accounting"

    reason = {"id": posted["id"], "reason": "entered twice", "reversalDate": "2063-05-11"}
    reversed_ = (await gql.data(REVERSE, {"i": reason}))["reverseJournalEntry"]
    mirror = reversed_["reversalEntry"]
    assert reversed_["reversedEntry"] == {"id": posted["id"], "status": "REVERSED", "reversedBy": {"id": mirror["id"]}}
    assert (mirror["status"], mirror["entryDate"], mirror["reversalOf"]) == (
        "POSTED",
        "2063-05-11",
        {"id": posted["id"]},
    )
    assert "entered twice" in mirror["description"]
    assert [(line["accountCode"], line["debitAmount"]) for line in mirror["lines"]] == [
        ("1010", "0.00"),
        ("4100", "100.00"),
    ]
    again = await gql.error(REVERSE, {"i": reason})
    assert again["extensions"]["code"] == "FAILED_PRECONDITION"


async def test_journal_entries_of_a_department_with_sources_and_accounts(gql: Gql, paid: PaidOrg) -> None:
    query = """query($d: String!, $after: String) {
      journalEntries(filter: {sourceService: "payroll", department: $d, startDate: "2061-01-01",
                              endDate: "2061-01-31", statuses: [POSTED]}, first: 50, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { node {
          sourceId source { ... on PayrollRecord { id netPay } } lines { account { accountCode } } } } } }"""

    first, rpcs = await gql.counted(query, {"d": paid.department})
    rest = await gql.data(query, {"d": paid.department, "after": first["journalEntries"]["pageInfo"]["endCursor"]})

    assert rpcs == {"ListJournalEntries": 1, "BatchGetPayrollRecords": 1, "BatchGetAccountsByCode": 1}
    assert first["journalEntries"]["totalCount"] == 61
    assert first["journalEntries"]["pageInfo"]["hasNextPage"] is True
    nodes = [e["node"] for e in first["journalEntries"]["edges"] + rest["journalEntries"]["edges"]]
    net = {r.id: r.net_pay.value for r in paid.records}
    assert {n["sourceId"] for n in nodes} == set(net)
    assert all(n["source"] == {"id": n["sourceId"], "netPay": net[n["sourceId"]]} for n in nodes)
    assert {line["account"]["accountCode"] for n in nodes for line in n["lines"]} == {"5200", "2200", "2100"}


async def test_reports(gql: Gql, paid: PaidOrg) -> None:
    query = """query($d: String!) {
      incomeStatement(start: "2061-01-01", end: "2061-01-31", department: $d) {
        department totalRevenue totalExpenses netIncome expenses { accountCode amount accountType } }
      trialBalance(asOf: "2061-01-31") { asOfDate balanced totalDebit totalCredit lines { accountCode } }
      balanceSheet(asOf: "2061-01-31") { balanced totalAssets totalLiabilities totalEquity currentEarnings }
      accountBalance(accountCode: "5200", asOf: "2061-01-31") { accountName accountType balance totalDebit }
    }"""

    data = await gql.data(query, {"d": paid.department})

    gross = sum(Decimal(r.gross_pay.value) for r in paid.records)
    statement = data["incomeStatement"]
    assert statement["department"] == paid.department
    assert Decimal(statement["totalExpenses"]) == gross == -Decimal(statement["netIncome"])
    assert statement["expenses"] == [
        {"accountCode": "5200", "amount": statement["totalExpenses"], "accountType": "EXPENSE"}
    ]
    trial = data["trialBalance"]
    assert trial["balanced"] is True
    assert trial["totalDebit"] == trial["totalCredit"]
    assert {"2100", "2200", "5200"} <= {line["accountCode"] for line in trial["lines"]}
    sheet = data["balanceSheet"]
    assert sheet["balanced"] is True
    assert Decimal(sheet["totalAssets"]) == Decimal(sheet["totalLiabilities"]) + Decimal(sheet["totalEquity"])
    balance = data["accountBalance"]
    assert balance["accountType"] == "EXPENSE"
    assert Decimal(balance["balance"]) >= gross


async def test_accounts_and_unknown_account(gql: Gql, accounting: acc_grpc.AccountingServiceStub) -> None:
    query = """{ accounts(filter: {accountTypes: [LIABILITY], isActive: true}, first: 100) {
        totalCount edges { node { accountCode accountName accountType isActive } } }
      account(accountCode: "2100") { accountName parentAccount { accountCode } }
      unknown: account(accountCode: "no-such-code") { id } }"""

    data = await gql.data(query)

    codes = {e["node"]["accountCode"] for e in data["accounts"]["edges"]}
    assert {"2010", "2100", "2200"} <= codes
    assert {e["node"]["accountType"] for e in data["accounts"]["edges"]} == {"LIABILITY"}
    assert data["account"]["accountName"]
    assert data["unknown"] is None
    error = await gql.error('{ accountBalance(accountCode: "no-such-code") { balance } }')
    assert error["extensions"]["code"] in {"NOT_FOUND", "BAD_USER_INPUT"}
