"""Procurement through the gateway: vendors and purchase orders through their lifecycle, batched
vendors -> orders -> items -> inventory items -> preferred vendors, and entities."""

from __future__ import annotations

from datetime import date
from typing import Any

from erp.inventory.v1 import inventory_pb2 as inv_pb
from erp.inventory.v1 import inventory_service_pb2 as inv
from erp.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from erp.procurement.v1 import procurement_pb2 as pb
from erp.procurement.v1 import procurement_service_pb2 as api
from erp.procurement.v1 import procurement_service_pb2_grpc as proc_grpc
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal

from tests.gateway.payroll_data import APPROVER, CREATOR
from tests.gateway.support import Gql, tag
from tests.runtime.helpers import eventually

TODAY = date.today().isoformat()
VENDOR = "id name email rating status version"
ORDER = """id poNumber status totalAmount version vendor { name }
  items { id lineNumber sku quantity quantityReceived inventoryItem { sku preferredVendor { id } } }"""
CREATE_VENDOR = f"mutation($i: CreateVendorInput!) {{ createVendor(input: $i) {{ {VENDOR} }} }}"
UPDATE_VENDOR = f"mutation($i: UpdateVendorInput!) {{ updateVendor(input: $i) {{ {VENDOR} }} }}"
CREATE_ORDER = f"mutation($i: CreatePurchaseOrderInput!) {{ createPurchaseOrder(input: $i) {{ {ORDER} }} }}"
APPROVE = "mutation($i: PurchaseOrderVersionInput!) { approvePurchaseOrder(input: $i) { status approvedBy version } }"
ORDERED = "mutation($i: MarkPurchaseOrderOrderedInput!) { markPurchaseOrderOrdered(input: $i) { status version } }"
RECEIVE = f"mutation($i: ReceivePurchaseOrderInput!) {{ receivePurchaseOrder(input: $i) {{ {ORDER} }} }}"
CANCEL = "mutation($i: CancelPurchaseOrderInput!) { cancelPurchaseOrder(input: $i) { status notes } }"


async def stocked_item(
    inventory: inv_grpc.InventoryServiceStub, vendor_id: str, on_hand: int = 5
) -> inv_pb.InventoryItem:
    request = inv.CreateInventoryItemRequest(
        sku=f"GWP-{tag()}",
        name="Bolt",
        category="Gateway",
        quantity_on_hand=on_hand,
        reorder_point=1,
        reorder_quantity=50,
        unit_cost=PbDecimal(value="1.00"),
        unit_price=PbDecimal(value="2.00"),
        preferred_vendor_id=vendor_id,
    )
    return (await inventory.CreateInventoryItem(request)).inventory_item


async def vendors_with_orders(
    procurement: proc_grpc.ProcurementServiceStub, inventory: inv_grpc.InventoryServiceStub, prefix: str, count: int
) -> list[tuple[pb.Vendor, inv_pb.InventoryItem]]:
    out = []
    for v in range(count):
        vendor = (
            await procurement.CreateVendor(
                api.CreateVendorRequest(name=f"{prefix} {v:03d}", email=f"v{v}-{tag()}@example.com")
            )
        ).vendor
        item = await stocked_item(inventory, vendor.id)
        for _ in range(2):
            await procurement.CreatePurchaseOrder(
                api.CreatePurchaseOrderRequest(
                    vendor_id=vendor.id,
                    order_date=Date(year=2026, month=1, day=5),
                    items=[
                        api.PurchaseOrderItemInput(
                            sku=item.sku, description="Bolts", quantity=4, unit_price=PbDecimal(value="1.00")
                        )
                    ],
                )
            )
        out.append((vendor, item))
    return out


def order_input(vendor_id: str, sku: str, **overrides: Any) -> dict[str, Any]:
    return {
        "vendorId": vendor_id,
        "orderDate": TODAY,
        "requestingDepartment": "Ops",
        "items": [{"sku": sku, "quantity": 100, "unitPrice": "150.00", "description": "Bolts"}],
        **overrides,
    }


async def test_vendors_create_and_update(gql: Gql, procurement: proc_grpc.ProcurementServiceStub) -> None:
    created = (
        await gql.data(
            CREATE_VENDOR, {"i": {"name": f"Bolts {tag()}", "email": f"{tag()}@example.com", "rating": "4.50"}}
        )
    )["createVendor"]
    assert (created["rating"], created["status"], created["version"]) == ("4.50", "ACTIVE", 1)
    bad = await gql.error(CREATE_VENDOR, {"i": {"name": "Too good", "email": f"{tag()}@example.com", "rating": "6.00"}})
    assert bad["extensions"]["code"] == "BAD_USER_INPUT"
    assert bad["extensions"]["service"] == "procurement"

    email = f"sales-{tag()}@example.com"
    change = {"id": created["id"], "version": 1, "email": email, "rating": None}
    updated = (await gql.data(UPDATE_VENDOR, {"i": change}))["updateVendor"]
    assert (updated["email"], updated["rating"], updated["version"]) == (email, None, 2)
    stale = await gql.error(UPDATE_VENDOR, {"i": change})
    assert stale["extensions"]["code"] == "CONFLICT"


async def test_purchase_order_lifecycle(
    gql: Gql, procurement: proc_grpc.ProcurementServiceStub, inventory: inv_grpc.InventoryServiceStub
) -> None:
    vendor = (
        await procurement.CreateVendor(api.CreateVendorRequest(name=f"Lifecycle {tag()}", email=f"{tag()}@example.com"))
    ).vendor
    item = await stocked_item(inventory, vendor.id)
    creator, approver = gql.as_user(CREATOR), gql.as_user(APPROVER)

    order = (await creator.data(CREATE_ORDER, {"i": order_input(vendor.id, item.sku)}))["createPurchaseOrder"]
    assert (order["status"], order["totalAmount"], order["vendor"]["name"]) == ("PENDING", "15000.00", vendor.name)
    assert order["items"][0]["inventoryItem"] == {"sku": item.sku, "preferredVendor": {"id": vendor.id}}
    empty = await creator.error(CREATE_ORDER, {"i": order_input(vendor.id, item.sku, items=[])})
    assert empty["extensions"]["code"] == "BAD_USER_INPUT"

    own = await creator.error(APPROVE, {"i": {"id": order["id"], "version": order["version"]}})
    assert own["extensions"]["code"] == "FAILED_PRECONDITION"
    assert "separation of duties" in own["message"]
    approved = await approver.data(APPROVE, {"i": {"id": order["id"], "version": order["version"]}})
    assert (approved["approvePurchaseOrder"]["status"], approved["approvePurchaseOrder"]["approvedBy"]) == (
        "APPROVED",
        APPROVER,
    )
    version = approved["approvePurchaseOrder"]["version"]
    placed = (await gql.data(ORDERED, {"i": {"id": order["id"], "version": version}}))["markPurchaseOrderOrdered"]
    assert placed["status"] == "ORDERED"
    twice = await gql.error(ORDERED, {"i": {"id": order["id"], "version": placed["version"]}})
    assert twice["extensions"]["code"] == "FAILED_PRECONDITION"

    line = order["items"][0]["id"]
    receipt = {"id": order["id"], "version": placed["version"], "receiptDate": TODAY}
    over = await gql.error(
        RECEIVE, {"i": {**receipt, "lines": [{"purchaseOrderItemId": line, "quantityReceived": 101}]}}
    )
    assert over["extensions"]["code"] == "BAD_USER_INPUT"
    lines = [{"purchaseOrderItemId": line, "quantityReceived": 98, "quantityRejected": 2}]
    received = (await gql.data(RECEIVE, {"i": {**receipt, "lines": lines}}))["receivePurchaseOrder"]
    assert received["status"] == "RECEIVED"
    assert received["items"][0]["quantityReceived"] == 98

    async def stocked() -> bool:
        data = await gql.data("query($s: String) { inventoryItem(sku: $s) { quantityOnHand } }", {"s": item.sku})
        return bool(data["inventoryItem"]["quantityOnHand"] == 5 + 98)

    await eventually(stocked, timeout_s=30, interval_s=0.2)  # inventory heard PurchaseOrderReceived

    async def linked() -> dict[str, Any] | None:
        """The order once accounting posted the receipt and procurement linked the entry."""
        data = await gql.data(
            """query($id: ID!) { purchaseOrder(id: $id) {
              version journalEntry { sourceService source { ... on PurchaseOrder { id poNumber } } } } }""",
            {"id": order["id"]},
        )
        found: dict[str, Any] = data["purchaseOrder"]
        return found if found["journalEntry"] else None

    posted = await eventually(linked, timeout_s=30, interval_s=0.2)
    assert posted["journalEntry"] == {
        "sourceService": "procurement",
        "source": {"id": order["id"], "poNumber": order["poNumber"]},
    }
    cancel = {"id": order["id"], "version": posted["version"], "reason": "late"}
    refused = await gql.error(CANCEL, {"i": cancel})
    assert refused["extensions"]["code"] == "FAILED_PRECONDITION"
    other = (await creator.data(CREATE_ORDER, {"i": order_input(vendor.id, item.sku)}))["createPurchaseOrder"]
    cancelled = await gql.data(CANCEL, {"i": {"id": other["id"], "version": other["version"], "reason": "dup"}})
    assert cancelled["cancelPurchaseOrder"]["status"] == "CANCELLED"
    assert "dup" in cancelled["cancelPurchaseOrder"]["notes"]


async def test_vendors_orders_items_cost_one_rpc_per_level(
    gql: Gql, procurement: proc_grpc.ProcurementServiceStub, inventory: inv_grpc.InventoryServiceStub
) -> None:
    prefix = f"Batch {tag()}"
    created = await vendors_with_orders(procurement, inventory, prefix, 4)
    query = """query($q: String!) { vendors(filter: {query: $q}, first: 50) { edges { node {
      name performance { totalCount }
      purchaseOrders(first: 10) { totalCount edges { node { poNumber vendor { name }
        items { sku inventoryItem { sku quantityOnOrder preferredVendor { name } } } } } } } } } }"""

    data, rpcs = await gql.counted(query, {"q": prefix})

    # One listing per level, the four vendors' performance included (vendor_ids).
    assert rpcs == {
        "ListVendors": 1,
        "ListPurchaseOrders": 1,
        "BatchGetInventoryItemsBySku": 1,
        "ListVendorPerformance": 1,
    }
    nodes = [e["node"] for e in data["vendors"]["edges"]]
    assert [n["name"] for n in nodes] == [v.name for v, _ in created]
    skus = {v.name: i.sku for v, i in created}
    for node in nodes:
        assert node["purchaseOrders"]["totalCount"] == 2
        for edge in node["purchaseOrders"]["edges"]:
            order = edge["node"]
            assert order["vendor"] == {"name": node["name"]}
            [item] = order["items"]
            assert item["inventoryItem"]["sku"] == item["sku"] == skus[node["name"]]
            assert item["inventoryItem"]["preferredVendor"] == {"name": node["name"]}


async def test_entities_of_vendors_and_orders(
    gql: Gql, procurement: proc_grpc.ProcurementServiceStub, inventory: inv_grpc.InventoryServiceStub
) -> None:
    created = await vendors_with_orders(procurement, inventory, f"Entities {tag()}", 3)
    orders = await procurement.ListPurchaseOrders(api.ListPurchaseOrdersRequest(vendor_ids=[v.id for v, _ in created]))
    representations = [{"__typename": "Vendor", "id": v.id} for v, _ in created] + [
        {"__typename": "PurchaseOrder", "id": o.id} for o in orders.purchase_orders
    ]
    query = """query($r: [_Any!]!) { _entities(representations: $r) {
      ... on Vendor { name } ... on PurchaseOrder { poNumber } } }"""

    data, rpcs = await gql.counted(query, {"r": representations})

    assert rpcs == {"BatchGetVendors": 1, "BatchGetPurchaseOrders": 1}
    assert [e["name"] for e in data["_entities"][:3]] == [v.name for v, _ in created]
    assert [e["poNumber"] for e in data["_entities"][3:]] == [o.po_number for o in orders.purchase_orders]
