"""Shipments and budgets in the graph: queries with cross-service fields, entities, and the
shipmentTracking / budgetExceeded subscriptions fed by the services' events."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

from erp.employee.v1 import employee_service_pb2_grpc as api_grpc
from erp.finance.v1 import finance_service_pb2 as fin
from erp.finance.v1 import finance_service_pb2_grpc as fin_grpc
from erp.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from erp.procurement.v1 import procurement_service_pb2 as proc_api
from erp.procurement.v1 import procurement_service_pb2_grpc as proc_grpc
from erp.supply_chain.v1 import supply_chain_pb2 as sc_pb
from erp.supply_chain.v1 import supply_chain_service_pb2 as sc
from erp.supply_chain.v1 import supply_chain_service_pb2_grpc as sc_grpc
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal

from services.runtime.settings import Settings
from tests.gateway.live import WsClient, hub_of, wait_for
from tests.gateway.support import Gql, new_department, tag
from tests.gateway.test_accounting import POST as POST_ENTRY
from tests.gateway.test_procurement import stocked_item
from tests.gateway.test_subscriptions import live, post

SOON = date.today() + timedelta(days=5)
SHIPMENT = """id shipmentNumber status carrier trackingNumber
  items { sku quantity inventoryItem { sku preferredVendor { name } } }
  trackingHistory { status location }"""


async def new_shipment(stub: sc_grpc.SupplyChainServiceStub, skus: list[str]) -> sc_pb.Shipment:
    request = sc.CreateShipmentRequest(
        order_id=str(uuid.uuid4()),
        shipment_type=sc_pb.SHIPMENT_TYPE_OUTBOUND,
        carrier="UPS",
        origin_address="1 Dock St",
        origin_city="Memphis",
        origin_state="TN",
        origin_zip_code="38101",
        destination_address="2 Main St",
        destination_city="Austin",
        destination_state="TX",
        destination_zip_code="73301",
        estimated_delivery_date=Date(year=SOON.year, month=SOON.month, day=SOON.day),
        items=[
            sc.ShipmentItemInput(sku=s, description="Bolts", quantity=3, weight=PbDecimal(value="1.5")) for s in skus
        ],
    )
    return (await stub.CreateShipment(request)).shipment  # type: ignore[no-any-return]


async def vendor_item(procurement: proc_grpc.ProcurementServiceStub, inventory: inv_grpc.InventoryServiceStub) -> Any:
    name = f"Ship Vendor {tag()}"
    vendor = (await procurement.CreateVendor(proc_api.CreateVendorRequest(name=name, email=f"s-{tag()}@x.com"))).vendor
    return name, await stocked_item(inventory, vendor.id)


async def test_shipments_with_items_inventory_and_vendors(
    gql: Gql,
    supply_chain: sc_grpc.SupplyChainServiceStub,
    procurement: proc_grpc.ProcurementServiceStub,
    inventory: inv_grpc.InventoryServiceStub,
) -> None:
    vendor_name, item = await vendor_item(procurement, inventory)
    shipment = await new_shipment(supply_chain, [item.sku])

    data, rpcs = await gql.counted(f"query($id: ID!) {{ shipment(id: $id) {{ {SHIPMENT} }} }}", {"id": shipment.id})
    entities = await gql.data(
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Shipment { shipmentNumber } } }",
        {"r": [{"__typename": "Shipment", "id": shipment.id}]},
    )

    assert data["shipment"]["status"] == "PENDING"
    assert data["shipment"]["items"] == [
        {"sku": item.sku, "quantity": 3, "inventoryItem": {"sku": item.sku, "preferredVendor": {"name": vendor_name}}}
    ]
    # supply chain -> inventory (by SKU) -> procurement: one RPC per service and level
    assert rpcs == {"GetShipment": 1, "ListTrackingHistory": 1, "BatchGetInventoryItemsBySku": 1, "BatchGetVendors": 1}
    assert entities["_entities"] == [{"shipmentNumber": shipment.shipment_number}]


TRACKING = """subscription($t: String!) { shipmentTracking(trackingNumber: $t) {
  status location trackingNumber shipment { status items { inventoryItem { sku } } } } }"""


async def test_a_shipment_is_tracked_live(
    gateway_settings: Settings,
    supply_chain: sc_grpc.SupplyChainServiceStub,
    procurement: proc_grpc.ProcurementServiceStub,
    inventory: inv_grpc.InventoryServiceStub,
) -> None:
    _, item = await vendor_item(procurement, inventory)
    shipment = await new_shipment(supply_chain, [item.sku])
    tracking = f"1Z{tag()}".upper()
    async with live(gateway_settings) as (app, base_url), WsClient.open(base_url) as ws:
        hub = hub_of(app)
        await ws.subscribe(TRACKING, {"t": tracking})
        subject = hub.subject("supply_chain.ShipmentTrackingUpdated")
        await wait_for(lambda: hub.subscriber_count(subject) == 1, what="the subscription")

        dispatched = await supply_chain.DispatchShipment(
            sc.DispatchShipmentRequest(id=shipment.id, tracking_number=tracking, version=shipment.version)
        )
        first = (await ws.next())["data"]["shipmentTracking"]
        await supply_chain.RecordTrackingEvent(
            sc.RecordTrackingEventRequest(
                shipment_id=shipment.id, status=sc_pb.TRACKING_STATUS_IN_TRANSIT, location="Dallas, TX"
            )
        )
        second = (await ws.next())["data"]["shipmentTracking"]

    assert dispatched.shipment.tracking_number == tracking
    assert (first["status"], first["trackingNumber"]) == ("DISPATCHED", tracking)
    assert first["shipment"]["items"] == [{"inventoryItem": {"sku": item.sku}}]
    # The tracking update names no tracking number: the hub looked the shipment up once.
    assert (second["status"], second["location"], second["trackingNumber"]) == ("IN_TRANSIT", "Dallas, TX", tracking)
    assert second["shipment"]["status"] == "IN_TRANSIT"


EXCEEDED = """subscription($d: String) { budgetExceeded(department: $d) {
  department category allocatedAmount spentAmount overrunAmount
  budget { status remainingAmount departmentRef { name } } } }"""


async def test_budget_exceeded_reaches_its_subscriber(
    gateway_settings: Settings,
    stub: api_grpc.EmployeeServiceStub,
    finance: fin_grpc.FinanceServiceStub,
) -> None:
    department = (await new_department(stub, f"Budgeted {tag()}")).name
    year = 2064
    budget = (
        await finance.AllocateBudget(
            fin.AllocateBudgetRequest(
                department=department,
                fiscal_year=year,
                quarter=0,
                category="Salaries",
                allocated_amount=PbDecimal(value="100.00"),
                start_date=Date(year=year, month=1, day=1),
                end_date=Date(year=year, month=12, day=31),
            )
        )
    ).budget
    entry = {
        "entryDate": f"{year}-03-02",
        "description": "Bonus",
        "department": department,
        "lines": [
            {"accountCode": "5200", "debitAmount": "150.00"},
            {"accountCode": "1010", "creditAmount": "150.00"},
        ],
    }
    async with live(gateway_settings) as (app, base_url), WsClient.open(base_url) as ws:
        hub = hub_of(app)
        await ws.subscribe(EXCEEDED, {"d": department})
        await wait_for(lambda: hub.subscriber_count(hub.subject("finance.BudgetExceeded")) == 1)
        await post(base_url, POST_ENTRY, {"i": entry})  # accounting posts; finance charges the budget
        exceeded = (await ws.next(wait_s=30))["data"]["budgetExceeded"]

    assert exceeded == {
        "department": department,
        "category": "Salaries",
        "allocatedAmount": "100.00",
        "spentAmount": "150.00",
        "overrunAmount": "50.00",
        "budget": {"status": "EXCEEDED", "remainingAmount": "-50.00", "departmentRef": {"name": department}},
    }
    assert budget.id


async def test_tracking_history_of_many_shipments_costs_one_rpc(
    gql: Gql, supply_chain: sc_grpc.SupplyChainServiceStub
) -> None:
    made = [await new_shipment(supply_chain, [f"SKU-{tag()}"]) for _ in range(3)]
    query = """query($ids: [String!]!) { shipments(filter: {orderIds: $ids}) { edges { node {
        id trackingHistory { status location } } } } }"""
    data, rpcs = await gql.counted(query, {"ids": [s.order_id for s in made]})
    nodes = {e["node"]["id"]: e["node"] for e in data["shipments"]["edges"]}
    assert set(nodes) == {s.id for s in made}
    assert all(n["trackingHistory"] for n in nodes.values())  # each has its creation event
    assert rpcs == {"ListShipments": 1, "ListTrackingHistory": 1}
