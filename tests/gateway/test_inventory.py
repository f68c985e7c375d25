"""Inventory through the gateway: items, stock commands, movements and reservations."""

from __future__ import annotations

import uuid
from typing import Any

from erp.inventory.v1 import inventory_service_pb2 as inv
from erp.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from google.type.decimal_pb2 import Decimal as PbDecimal

from tests.gateway.support import Gql, tag

ITEM = """id sku name description category quantityOnHand quantityReserved quantityAvailable reorderPoint
  unitCost unitPrice warehouseLocation status version"""
CREATE = f"mutation($i: CreateInventoryItemInput!) {{ createInventoryItem(input: $i) {{ {ITEM} }} }}"
UPDATE = f"mutation($i: UpdateInventoryItemInput!) {{ updateInventoryItem(input: $i) {{ {ITEM} }} }}"
RESERVE = """mutation($i: ReserveStockInput!) { reserveStock(input: $i) {
  reservation { id status quantity orderId item { sku } } inventoryItem { quantityReserved quantityAvailable } } }"""
RELEASE = "mutation($i: ReleaseReservationInput!) { releaseReservation(input: $i) { id status } }"
FULFIL = """mutation($id: ID!) { fulfilReservation(id: $id) {
  reservation { status fulfilledAt } movement { movementType quantity previousQuantity newQuantity } } }"""
ADJUST = """mutation($i: AdjustStockInput!) { adjustStock(input: $i) {
  inventoryItem { quantityOnHand version } movement { movementType quantity reason item { sku } } } }"""


def new_item(sku: str, **overrides: Any) -> dict[str, Any]:
    return {
        "sku": sku,
        "name": f"Widget {sku}",
        "category": "Gateway",
        "reorderPoint": 2,
        "reorderQuantity": 10,
        "unitCost": "4.10",
        "unitPrice": "9.90",
        "quantityOnHand": 20,
        "warehouseLocation": "A-1-1",
        **overrides,
    }


async def items(stub: inv_grpc.InventoryServiceStub, prefix: str, count: int) -> list[Any]:
    out = []
    for i in range(count):
        request = inv.CreateInventoryItemRequest(
            sku=f"{prefix}-{i:03d}",
            name=f"Part {i}",
            category="Gateway",
            quantity_on_hand=50,
            reorder_point=1,
            reorder_quantity=5,
            unit_cost=PbDecimal(value="1.00"),
            unit_price=PbDecimal(value="2.00"),
        )
        item = (await stub.CreateInventoryItem(request)).inventory_item
        await stub.ReserveStock(inv.ReserveStockRequest(item_id=item.id, quantity=3, order_id=str(uuid.uuid4())))
        out.append(item)
    return out


async def test_create_and_update_an_item(gql: Gql, inventory: inv_grpc.InventoryServiceStub) -> None:
    sku = f"GW-{tag()}"
    created = (await gql.data(CREATE, {"i": new_item(sku)}))["createInventoryItem"]
    assert {k: created[k] for k in ("sku", "quantityOnHand", "quantityAvailable", "unitCost", "status", "version")} == {
        "sku": sku,
        "quantityOnHand": 20,
        "quantityAvailable": 20,
        "unitCost": "4.10",
        "status": "ACTIVE",
        "version": 1,
    }
    duplicate = await gql.error(CREATE, {"i": new_item(sku)})
    assert duplicate["extensions"]["code"] == "CONFLICT"
    invalid = await gql.error(CREATE, {"i": new_item(f"GW-{tag()}", reorderQuantity=0)})
    assert invalid["extensions"]["code"] == "BAD_USER_INPUT"

    changes = {"id": created["id"], "version": 1, "unitPrice": "10.50", "description": None, "status": "INACTIVE"}
    updated = (await gql.data(UPDATE, {"i": changes}))["updateInventoryItem"]
    assert (updated["unitPrice"], updated["status"], updated["version"], updated["name"]) == (
        "10.50",
        "INACTIVE",
        2,
        created["name"],
    )
    stale = await gql.error(UPDATE, {"i": {**changes, "unitPrice": "11.00"}})
    assert stale["extensions"]["code"] == "CONFLICT"


async def test_reserve_release_fulfil_and_adjust(gql: Gql, inventory: inv_grpc.InventoryServiceStub) -> None:
    sku = f"GW-{tag()}"
    item = (await gql.data(CREATE, {"i": new_item(sku)}))["createInventoryItem"]
    order_1, order_2 = str(uuid.uuid4()), str(uuid.uuid4())

    too_many = await gql.error(RESERVE, {"i": {"sku": sku, "quantity": 21, "orderId": order_1}})
    assert too_many["extensions"]["code"] == "FAILED_PRECONDITION"
    first = await gql.data(RESERVE, {"i": {"sku": sku, "quantity": 5, "orderId": order_1, "ttlSeconds": 3600}})
    assert first["reserveStock"]["reservation"]["item"] == {"sku": sku}
    assert first["reserveStock"]["inventoryItem"] == {"quantityReserved": 5, "quantityAvailable": 15}
    second = await gql.data(RESERVE, {"i": {"itemId": item["id"], "quantity": 4, "orderId": order_2}})
    reservation = first["reserveStock"]["reservation"]["id"]

    released = await gql.data(RELEASE, {"i": {"id": reservation, "reason": "order cancelled"}})
    assert released["releaseReservation"] == {"id": reservation, "status": "CANCELLED"}
    again = await gql.error(RELEASE, {"i": {"id": reservation}})
    assert again["extensions"]["code"] == "FAILED_PRECONDITION"

    fulfilled = (await gql.data(FULFIL, {"id": second["reserveStock"]["reservation"]["id"]}))["fulfilReservation"]
    assert fulfilled["reservation"]["status"] == "FULFILLED"
    assert fulfilled["movement"] == {
        "movementType": "FULFILLMENT",
        "quantity": -4,
        "previousQuantity": 20,
        "newQuantity": 16,
    }
    unknown = await gql.error(FULFIL, {"id": "00000000-0000-4000-8000-000000000000"})
    assert unknown["extensions"]["code"] == "NOT_FOUND"

    current = (await gql.data("query($s: String) { inventoryItem(sku: $s) { version } }", {"s": sku}))["inventoryItem"]
    adjust = {"itemId": item["id"], "version": current["version"], "movementType": "DAMAGE", "quantity": -2}
    adjusted = (await gql.data(ADJUST, {"i": {**adjust, "reason": "dropped"}}))["adjustStock"]
    assert adjusted["inventoryItem"]["quantityOnHand"] == 14
    assert adjusted["movement"] == {"movementType": "DAMAGE", "quantity": -2, "reason": "dropped", "item": {"sku": sku}}
    stale = await gql.error(ADJUST, {"i": {**adjust, "reason": "dropped again"}})
    assert stale["extensions"]["code"] == "CONFLICT"

    history = await gql.data(
        """query($s: String) { inventoryItem(sku: $s) {
          movements { totalCount edges { node { movementType quantity } } }
          reservations(statuses: [ACTIVE, FULFILLED, CANCELLED]) {
            totalCount edges { node { status orderId } } } } }""",
        {"s": sku},
    )
    movements = [e["node"] for e in history["inventoryItem"]["movements"]["edges"]]
    assert movements[:2] == [
        {"movementType": "DAMAGE", "quantity": -2},
        {"movementType": "FULFILLMENT", "quantity": -4},
    ]
    reservations = {
        e["node"]["orderId"]: e["node"]["status"] for e in history["inventoryItem"]["reservations"]["edges"]
    }
    assert reservations == {order_1: "CANCELLED", order_2: "FULFILLED"}


async def test_items_with_movements_and_reservations(gql: Gql, inventory: inv_grpc.InventoryServiceStub) -> None:
    prefix = f"GWB-{tag()}"
    created = await items(inventory, prefix, 6)
    query = """query($q: String!) { inventoryItems(filter: {query: $q, categories: ["Gateway"]}, first: 100) {
      totalCount edges { node { sku quantityReserved
        movements { edges { node { movementType item { sku } } } }
        reservations { edges { node { orderId status item { sku } } } } } } } }"""

    data, rpcs = await gql.counted(query, {"q": prefix})

    # The items' movements and reservations: one listing each for all six items (item_ids).
    assert rpcs == {"ListInventoryItems": 1, "ListStockMovements": 1, "ListReservations": 1}
    nodes = [e["node"] for e in data["inventoryItems"]["edges"]]
    assert [n["sku"] for n in nodes] == [i.sku for i in created]
    for node in nodes:
        assert node["quantityReserved"] == 3
        assert [m["node"] for m in node["movements"]["edges"]][-1] == {
            "movementType": "ADJUSTMENT",
            "item": {"sku": node["sku"]},
        }
        [reservation] = [r["node"] for r in node["reservations"]["edges"]]
        assert reservation["status"] == "ACTIVE"
        assert reservation["item"] == {"sku": node["sku"]}


async def test_entities_and_lookups_of_items(gql: Gql, inventory: inv_grpc.InventoryServiceStub) -> None:
    created = await items(inventory, f"GWE-{tag()}", 30)
    representations = [{"__typename": "InventoryItem", "id": i.id} for i in created]
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on InventoryItem { id sku } } }"

    data, rpcs = await gql.counted(query, {"r": representations})

    assert rpcs == {"BatchGetInventoryItems": 1}
    assert [e["sku"] for e in data["_entities"]] == [i.sku for i in created]
    by_sku = await gql.data(
        "query($a: String, $b: String) { a: inventoryItem(sku: $a) { id } b: inventoryItem(sku: $b) { id } }",
        {"a": created[0].sku, "b": "no-such-sku"},
    )
    assert by_sku == {"a": {"id": created[0].id}, "b": None}
    missing = await gql.error('{ inventoryItem(id: "00000000-0000-4000-8000-000000000000") { id } }')
    assert missing["extensions"]["code"] == "NOT_FOUND"
    neither = await gql.error("{ inventoryItem { id } }")
    assert neither["extensions"]["code"] == "BAD_USER_INPUT"
