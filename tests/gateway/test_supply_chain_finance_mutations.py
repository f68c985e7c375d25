"""Supply chain and finance commands through the gateway (each with a success path and an error
mapped to `extensions.code`), carrier performance, budget vs actual, financial reports, and the
budgets of departments batched per level."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import date, timedelta
from typing import Any

from erp.employee.v1 import employee_service_pb2_grpc as api_grpc
from erp.finance.v1 import finance_service_pb2_grpc as fin_grpc
from erp.supply_chain.v1 import supply_chain_service_pb2_grpc as sc_grpc

from tests.gateway.support import Gql, new_department, tag
from tests.gateway.test_accounting import POST as POST_ENTRY

SOON = date.today() + timedelta(days=5)
SHIPMENT = (
    "id status version trackingNumber deliveredTo items { sku quantity weight } trackingHistory { status location }"
)

CREATE = f"mutation($i: CreateShipmentInput!) {{ createShipment(input: $i) {{ {SHIPMENT} }} }}"
DISPATCH = f"mutation($i: DispatchShipmentInput!) {{ dispatchShipment(input: $i) {{ {SHIPMENT} }} }}"
TRACK = """mutation($i: RecordTrackingEventInput!) { recordTrackingEvent(input: $i) {
  shipmentId status location notes eventTime } }"""
DELIVER = f"mutation($i: DeliverShipmentInput!) {{ deliverShipment(input: $i) {{ {SHIPMENT} }} }}"
CANCEL = f"mutation($i: CancelShipmentInput!) {{ cancelShipment(input: $i) {{ {SHIPMENT} }} }}"
RETURNED = f"mutation($i: MarkShipmentReturnedInput!) {{ markShipmentReturned(input: $i) {{ {SHIPMENT} }} }}"
LOST = f"mutation($i: MarkShipmentLostInput!) {{ markShipmentLost(input: $i) {{ {SHIPMENT} }} }}"
PERFORMANCE = """query($c: String!, $s: Date!, $e: Date!) {
  carrierPerformance(carrier: $c, startDate: $s, endDate: $e) {
  summary { carrier totalShipments onTimeDeliveries lateDeliveries onTimeRate returnedShipments lostShipments }
  daily { carrier totalShipments onTimeDeliveries } } }"""


def shipment_input(carrier: str, **extra: Any) -> dict[str, Any]:
    return {
        "orderId": str(uuid.uuid4()),
        "shipmentType": "OUTBOUND",
        "carrier": carrier,
        "originCity": "Memphis",
        "destinationCity": "Austin",
        "destinationState": "TX",
        "estimatedDeliveryDate": SOON.isoformat(),
        "items": [{"sku": f"SKU-{tag()}", "quantity": 3, "weight": "1.50", "description": "Bolts"}],
        **extra,
    }


async def created(gql: Gql, carrier: str) -> dict[str, Any]:
    shipment: dict[str, Any] = (await gql.data(CREATE, {"i": shipment_input(carrier)}))["createShipment"]
    return shipment


async def dispatched(gql: Gql, carrier: str) -> dict[str, Any]:
    shipment = await created(gql, carrier)
    i = {"id": shipment["id"], "version": shipment["version"], "trackingNumber": f"1Z{tag()}".upper()}
    result: dict[str, Any] = (await gql.data(DISPATCH, {"i": i}))["dispatchShipment"]
    return result


async def test_a_shipment_goes_through_its_lifecycle(gql: Gql, supply_chain: sc_grpc.SupplyChainServiceStub) -> None:
    carrier = f"Carrier {tag()}"
    shipment = await created(gql, carrier)
    assert (shipment["status"], shipment["trackingNumber"]) == ("PENDING", None)
    assert [(i["quantity"], i["weight"]) for i in shipment["items"]] == [(3, "1.50")]
    assert [e["status"] for e in shipment["trackingHistory"]] == ["CREATED"]

    tracking = f"1Z{tag()}".upper()
    moving = (
        await gql.data(
            DISPATCH, {"i": {"id": shipment["id"], "version": shipment["version"], "trackingNumber": tracking}}
        )
    )["dispatchShipment"]
    assert (moving["status"], moving["trackingNumber"]) == ("IN_TRANSIT", tracking)
    assert [e["status"] for e in moving["trackingHistory"]] == ["CREATED", "DISPATCHED"]

    event = (
        await gql.data(
            TRACK, {"i": {"shipmentId": shipment["id"], "status": "OUT_FOR_DELIVERY", "location": "Austin, TX"}}
        )
    )["recordTrackingEvent"]
    assert (event["shipmentId"], event["status"], event["location"]) == (
        shipment["id"],
        "OUT_FOR_DELIVERY",
        "Austin, TX",
    )
    assert event["eventTime"]

    delivered = (
        await gql.data(
            DELIVER,
            {"i": {"id": shipment["id"], "version": moving["version"], "deliveredTo": "J. Doe", "location": "Austin"}},
        )
    )["deliverShipment"]
    assert (delivered["status"], delivered["deliveredTo"]) == ("DELIVERED", "J. Doe")
    assert [e["status"] for e in delivered["trackingHistory"]][-2:] == ["OUT_FOR_DELIVERY", "DELIVERED"]

    back = (
        await gql.data(RETURNED, {"i": {"id": shipment["id"], "version": delivered["version"], "reason": "Refused"}})
    )["markShipmentReturned"]
    assert back["status"] == "RETURNED"

    today = date.today()
    window = {"c": carrier, "s": (today - timedelta(days=1)).isoformat(), "e": (today + timedelta(days=1)).isoformat()}
    performance = (await gql.data(PERFORMANCE, window))["carrierPerformance"]
    assert performance["summary"] == {
        "carrier": carrier,
        "totalShipments": 1,
        "onTimeDeliveries": 1,
        "lateDeliveries": 0,
        "onTimeRate": performance["summary"]["onTimeRate"],
        "returnedShipments": 1,
        "lostShipments": 0,
    }
    assert performance["summary"]["onTimeRate"].startswith("1")
    assert [(d["carrier"], d["totalShipments"], d["onTimeDeliveries"]) for d in performance["daily"]] == [
        (carrier, 1, 1)
    ]


async def test_a_shipment_is_cancelled_or_lost(gql: Gql, supply_chain: sc_grpc.SupplyChainServiceStub) -> None:
    carrier = f"Carrier {tag()}"
    pending = await created(gql, carrier)
    cancelled = (
        await gql.data(CANCEL, {"i": {"id": pending["id"], "version": pending["version"], "reason": "Order voided"}})
    )["cancelShipment"]
    assert cancelled["status"] == "CANCELLED"
    assert [e["status"] for e in cancelled["trackingHistory"]] == ["CREATED", "CANCELLED"]

    moving = await dispatched(gql, carrier)
    lost = (await gql.data(LOST, {"i": {"id": moving["id"], "version": moving["version"], "notes": "Claim 42"}}))[
        "markShipmentLost"
    ]
    assert lost["status"] == "LOST"
    assert lost["trackingHistory"][-1]["status"] == "LOST"


async def test_shipment_commands_map_service_errors(gql: Gql, supply_chain: sc_grpc.SupplyChainServiceStub) -> None:
    carrier = f"Carrier {tag()}"
    pending = await created(gql, carrier)
    unknown = str(uuid.uuid4())

    no_items = await gql.error(CREATE, {"i": shipment_input(carrier, items=[])})
    stale = await gql.error(
        DISPATCH, {"i": {"id": pending["id"], "version": pending["version"] + 5, "trackingNumber": "X"}}
    )
    not_moving = await gql.error(TRACK, {"i": {"shipmentId": pending["id"], "status": "IN_TRANSIT"}})
    undelivered = await gql.error(DELIVER, {"i": {"id": pending["id"], "version": pending["version"]}})
    voided = await created(gql, carrier)
    cancel = {"id": voided["id"], "reason": "Voided"}
    cancelled = (await gql.data(CANCEL, {"i": {**cancel, "version": voided["version"]}}))["cancelShipment"]
    twice = await gql.error(CANCEL, {"i": {**cancel, "version": cancelled["version"]}})
    not_sent = await gql.error(RETURNED, {"i": {"id": pending["id"], "version": pending["version"], "reason": "No"}})
    missing = await gql.error(LOST, {"i": {"id": unknown, "version": 1}})

    assert no_items["extensions"]["code"] == "BAD_USER_INPUT"
    assert no_items["extensions"]["service"] == "supply_chain"
    assert stale["extensions"]["code"] == "CONFLICT"
    assert not_moving["extensions"]["code"] == "FAILED_PRECONDITION"
    assert undelivered["extensions"]["code"] == "FAILED_PRECONDITION"
    assert twice["extensions"]["code"] == "FAILED_PRECONDITION"
    assert not_sent["extensions"]["code"] == "FAILED_PRECONDITION"
    assert missing["extensions"]["code"] == "NOT_FOUND"


# ---- finance -------------------------------------------------------------------------------

BUDGET = "id department fiscalYear quarter category allocatedAmount spentAmount remainingAmount status version"
ALLOCATE = f"mutation($i: AllocateBudgetInput!) {{ allocateBudget(input: $i) {{ {BUDGET} }} }}"
UPDATE = f"mutation($i: UpdateBudgetInput!) {{ updateBudget(input: $i) {{ {BUDGET} }} }}"
CLOSE = f"mutation($i: CloseBudgetInput!) {{ closeBudget(input: $i) {{ {BUDGET} }} }}"
GENERATE = """mutation($i: GenerateFinancialReportInput!) { generateFinancialReport(input: $i) {
  id reportType periodStart periodEnd sections { key title total lines { accountCode amount } }
  incomeStatementTotals { totalRevenue totalExpenses netIncome }
  balanceSheetTotals { totalAssets totalLiabilities totalEquity balanced }
  cashFlowTotals { netOperating netChangeInCash openingCash closingCash } generatedAt } }"""
YEAR = 2066


def allocation(department: str, category: str = "Operating", amount: str = "1000.00") -> dict[str, Any]:
    return {
        "department": department,
        "fiscalYear": YEAR,
        "category": category,
        "allocatedAmount": amount,
        "startDate": f"{YEAR}-01-01",
        "endDate": f"{YEAR}-12-31",
    }


async def test_budgets_are_allocated_changed_charged_and_closed(
    gql: Gql, stub: api_grpc.EmployeeServiceStub, finance: fin_grpc.FinanceServiceStub
) -> None:
    department = (await new_department(stub, f"Budgeted {tag()}")).name
    budget = (await gql.data(ALLOCATE, {"i": allocation(department, "Salaries")}))["allocateBudget"]
    assert (budget["department"], budget["quarter"], budget["status"]) == (department, 0, "ACTIVE")
    assert (budget["allocatedAmount"], budget["spentAmount"], budget["remainingAmount"]) == (
        "1000.00",
        "0.00",
        "1000.00",
    )

    raised = (
        await gql.data(UPDATE, {"i": {"id": budget["id"], "version": budget["version"], "allocatedAmount": "1200.00"}})
    )["updateBudget"]
    assert (raised["allocatedAmount"], raised["remainingAmount"], raised["version"]) == (
        "1200.00",
        "1200.00",
        budget["version"] + 1,
    )

    entry = {
        "entryDate": f"{YEAR}-03-02",
        "description": "Bonus",
        "department": department,
        "lines": [
            {"accountCode": "5200", "debitAmount": "150.00"},
            {"accountCode": "1010", "creditAmount": "150.00"},
        ],
    }
    await gql.data(POST_ENTRY, {"i": entry})  # accounting posts; finance charges the budget (an event)
    transactions = """query($id: ID!) { budget(id: $id) { spentAmount version
      transactions { totalCount edges { node { amount transactionDate sourceService budget { id } } } } } }"""
    for _ in range(300):
        charged = (await gql.data(transactions, {"id": budget["id"]}))["budget"]
        if charged["transactions"]["totalCount"] and charged["spentAmount"] != "0.00":  # read one after the other
            break
        await asyncio.sleep(0.1)
    assert charged["spentAmount"] == "150.00"
    assert [e["node"] for e in charged["transactions"]["edges"]] == [
        {
            "amount": "150.00",
            "transactionDate": f"{YEAR}-03-02",
            "sourceService": "manual",
            "budget": {"id": budget["id"]},
        }
    ]

    vs = """query($y: Int!, $d: [String!]) { budgetVsActual(fiscalYear: $y, departments: $d) {
      totalAllocated totalActual totalVariance
      rows { department category allocatedAmount actualAmount variance status budget { id } } } }"""
    report = (await gql.data(vs, {"y": YEAR, "d": [department]}))["budgetVsActual"]
    assert report["rows"] == [
        {
            "department": department,
            "category": "Salaries",
            "allocatedAmount": "1200.00",
            "actualAmount": "150.00",
            "variance": "1050.00",
            "status": "ACTIVE",
            "budget": {"id": budget["id"]},
        }
    ]
    assert (report["totalAllocated"], report["totalActual"], report["totalVariance"]) == (
        "1200.00",
        "150.00",
        "1050.00",
    )

    closed = (await gql.data(CLOSE, {"i": {"id": budget["id"], "version": charged["version"]}}))["closeBudget"]
    assert closed["status"] == "CLOSED"


async def test_budget_commands_map_service_errors(
    gql: Gql, stub: api_grpc.EmployeeServiceStub, finance: fin_grpc.FinanceServiceStub
) -> None:
    department = (await new_department(stub, f"Budgeted {tag()}")).name
    budget = (await gql.data(ALLOCATE, {"i": allocation(department)}))["allocateBudget"]
    closed = (await gql.data(CLOSE, {"i": {"id": budget["id"], "version": budget["version"]}}))["closeBudget"]

    nowhere = await gql.error(ALLOCATE, {"i": allocation(f"No such department {tag()}")})
    twice = await gql.error(ALLOCATE, {"i": allocation(department)})
    stale = await gql.error(UPDATE, {"i": {"id": budget["id"], "version": budget["version"], "category": "Capital"}})
    nothing = await gql.error(UPDATE, {"i": {"id": budget["id"], "version": closed["version"]}})
    reclosed = await gql.error(CLOSE, {"i": {"id": budget["id"], "version": closed["version"]}})

    assert nowhere["extensions"]["code"] == "BAD_USER_INPUT"
    assert [v["field"] for v in nowhere["extensions"]["fieldViolations"]] == ["department"]
    assert twice["extensions"]["code"] == "CONFLICT"
    assert stale["extensions"]["code"] == "CONFLICT"
    assert nothing["extensions"]["code"] == "BAD_USER_INPUT"
    assert reclosed["extensions"]["code"] == "FAILED_PRECONDITION"


async def test_financial_reports_are_generated_and_listed(gql: Gql, finance: fin_grpc.FinanceServiceStub) -> None:
    year = random.randint(2100, 2900)  # a period no other test reports on
    period = {"periodStart": f"{year}-01-01", "periodEnd": f"{year}-06-30"}
    reports = {
        kind: (await gql.data(GENERATE, {"i": {"reportType": kind, **period}}))["generateFinancialReport"]
        for kind in ("INCOME_STATEMENT", "BALANCE_SHEET", "CASH_FLOW")
    }
    income, balance, cash = reports["INCOME_STATEMENT"], reports["BALANCE_SHEET"], reports["CASH_FLOW"]
    assert (income["reportType"], income["periodStart"], income["periodEnd"]) == ("INCOME_STATEMENT", *period.values())
    assert income["incomeStatementTotals"] is not None
    assert (income["balanceSheetTotals"], income["cashFlowTotals"]) == (None, None)
    assert {s["key"] for s in income["sections"]} >= {"revenue", "expenses"}
    assert balance["balanceSheetTotals"]["balanced"] is True
    assert {s["key"] for s in balance["sections"]} >= {"assets", "liabilities", "equity"}
    assert cash["cashFlowTotals"] is not None and cash["incomeStatementTotals"] is None

    listed = """query($f: FinancialReportFilter) { financialReports(filter: $f, first: 50) {
      totalCount edges { node { id reportType } } } }"""
    found = (
        await gql.data(
            listed,
            {
                "f": {
                    "reportTypes": ["INCOME_STATEMENT", "CASH_FLOW"],
                    "periodStartFrom": period["periodStart"],
                    "periodEndTo": period["periodEnd"],
                }
            },
        )
    )["financialReports"]
    ids = {e["node"]["id"]: e["node"]["reportType"] for e in found["edges"]}
    assert ids == {income["id"]: "INCOME_STATEMENT", cash["id"]: "CASH_FLOW"}

    backwards = await gql.error(
        GENERATE,
        {"i": {"reportType": "INCOME_STATEMENT", "periodStart": f"{year}-06-30", "periodEnd": f"{year}-01-01"}},
    )
    assert backwards["extensions"]["code"] == "BAD_USER_INPUT"
    assert backwards["extensions"]["service"] == "finance"


async def test_budgets_of_departments_take_one_listing_per_level(
    gql: Gql, stub: api_grpc.EmployeeServiceStub, finance: fin_grpc.FinanceServiceStub
) -> None:
    names = [(await new_department(stub, f"Batched {tag()} {i}")).name for i in range(3)]
    for name in names:
        for category in ("Operating", "Capital"):
            await gql.data(ALLOCATE, {"i": allocation(name, category)})
    query = """query($d: [String!]) { budgets(filter: {departments: $d}, first: 10) { edges { node {
      category departmentRef { name budgets(first: 5) { totalCount edges { node { department category
        departmentRef { name budgets(first: 5) { totalCount } } } } } } } } } }"""

    data, rpcs = await gql.counted(query, {"d": names})

    nodes = [e["node"] for e in data["budgets"]["edges"]]
    assert len(nodes) == 6
    for node in nodes:
        ref = node["departmentRef"]
        assert ref["budgets"]["totalCount"] == 2
        assert {b["node"]["department"] for b in ref["budgets"]["edges"]} == {ref["name"]}
        assert {b["node"]["category"] for b in ref["budgets"]["edges"]} == {"Operating", "Capital"}
        assert all(b["node"]["departmentRef"]["budgets"]["totalCount"] == 2 for b in ref["budgets"]["edges"])
    # The root listing, then one listing of departments by name and one ListBudgets for the
    # budgets of all three departments; the deeper level asks for the same departments (cached).
    assert rpcs == {"ListBudgets": 2, "ListDepartments": 1}
