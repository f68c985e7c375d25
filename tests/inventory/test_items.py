"""Inventory items: create, read, list, update with optimistic locking; every rejection writes nothing."""

from __future__ import annotations

import uuid

import asyncpg
from erp.inventory.v1 import inventory_pb2 as pb
from erp.inventory.v1 import inventory_service_pb2 as api
from google.protobuf.field_mask_pb2 import FieldMask

from tests.inventory.helpers import (
    CALLER,
    USER_ID,
    Code,
    Stub,
    assert_ledger_invariants,
    counts,
    create_item,
    dec,
    event_names,
    events,
    get_item,
    item_request,
    movements,
    rejected,
    tag,
)


def update(item_id: str, paths: tuple[str, ...], version: int = 0, **fields: object) -> api.UpdateInventoryItemRequest:
    return api.UpdateInventoryItemRequest(
        inventory_item=pb.InventoryItem(id=item_id, **fields),
        update_mask=FieldMask(paths=list(paths)),
        version=version,
    )


async def test_create_item_with_opening_stock(stub: Stub, db: asyncpg.Connection) -> None:
    vendor = str(uuid.uuid4())
    item = await create_item(
        stub, quantity_on_hand=25, reorder_point=5, unit_cost=dec("4.5"), preferred_vendor_id=vendor, description="d"
    )
    assert (item.quantity_on_hand, item.quantity_reserved, item.quantity_available, item.quantity_on_order) == (
        25,
        0,
        25,
        0,
    )
    assert item.unit_cost.value == "4.50"
    assert (item.status, item.version, item.preferred_vendor_id) == (pb.INVENTORY_ITEM_STATUS_ACTIVE, 1, vendor)
    assert await get_item(stub, item.id) == item
    [movement] = await movements(db, item.id)
    assert (movement["movement_type"], movement["quantity"], movement["previous_quantity"]) == ("adjustment", 25, 0)
    assert (movement["reason"], str(movement["moved_by"])) == ("opening stock", USER_ID)
    assert await event_names(db, item.id) == ["InventoryItemCreated", "StockMoved", "StockLevelChanged"]
    [created] = await events(db, item.id, "InventoryItemCreated")
    assert (created.sku, created.quantity_on_hand, created.unit_cost.value, created.version) == (
        item.sku,
        25,
        "4.50",
        1,
    )
    await assert_ledger_invariants(db, item.id)


async def test_create_item_without_stock_writes_no_movement(stub: Stub, db: asyncpg.Connection) -> None:
    item = await create_item(stub, reorder_point=3)
    assert await movements(db, item.id) == []
    # Created below its reorder point: no crossing, so no ReorderPointReached.
    assert await event_names(db, item.id) == ["InventoryItemCreated"]


async def test_create_rejections_write_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    existing = await create_item(stub)
    cases: list[tuple[api.CreateInventoryItemRequest, Code, tuple[str, ...]]] = [
        (item_request(sku=""), Code.INVALID_ARGUMENT, ("sku",)),
        (item_request(sku="x" * 51), Code.INVALID_ARGUMENT, ("sku",)),
        (item_request(name=" ", category=""), Code.INVALID_ARGUMENT, ("name", "category")),
        (item_request(quantity_on_hand=-1), Code.INVALID_ARGUMENT, ("quantity_on_hand",)),
        (
            item_request(reorder_point=-1, reorder_quantity=0),
            Code.INVALID_ARGUMENT,
            ("reorder_point", "reorder_quantity"),
        ),
        (item_request(unit_cost=dec("-1.00")), Code.INVALID_ARGUMENT, ("unit_cost",)),
        (
            item_request(unit_cost=dec("1.001"), unit_price=dec("abc")),
            Code.INVALID_ARGUMENT,
            ("unit_cost", "unit_price"),
        ),
        (item_request(unit_price=dec("")), Code.INVALID_ARGUMENT, ("unit_price",)),
        (item_request(unit_price=dec("100000000")), Code.INVALID_ARGUMENT, ("unit_price",)),
        (item_request(preferred_vendor_id="nope"), Code.INVALID_ARGUMENT, ("preferred_vendor_id",)),
        (item_request(sku=existing.sku), Code.ALREADY_EXISTS, ()),
        (item_request(sku=f"  {existing.sku} "), Code.ALREADY_EXISTS, ()),
    ]
    for request, code, fields in cases:
        await rejected(db, lambda r=request: stub.CreateInventoryItem(r), code, fields=fields)


async def test_batch_get_by_id_and_sku(stub: Stub) -> None:
    a, b = await create_item(stub), await create_item(stub)
    found = await stub.BatchGetInventoryItems(
        api.BatchGetInventoryItemsRequest(ids=[a.id, b.id, a.id, str(uuid.uuid4())])
    )
    assert sorted(i.id for i in found.inventory_items) == sorted([a.id, b.id])
    by_sku = await stub.BatchGetInventoryItemsBySku(api.BatchGetInventoryItemsBySkuRequest(skus=[b.sku, "nope", b.sku]))
    assert [i.id for i in by_sku.inventory_items] == [b.id]


async def test_get_errors(stub: Stub, db: asyncpg.Connection) -> None:
    await rejected(db, lambda: stub.GetInventoryItem(api.GetInventoryItemRequest(id=str(uuid.uuid4()))), Code.NOT_FOUND)
    await rejected(db, lambda: stub.GetInventoryItem(api.GetInventoryItemRequest(id="x")), Code.INVALID_ARGUMENT)
    many = api.BatchGetInventoryItemsBySkuRequest(skus=[f"s{i}" for i in range(1001)])
    await rejected(db, lambda: stub.BatchGetInventoryItemsBySku(many), Code.INVALID_ARGUMENT, fields=("skus",))


async def test_list_filters_and_pages(stub: Stub) -> None:
    category = f"list-{tag()}"
    vendor = str(uuid.uuid4())
    low = await create_item(stub, sku=f"L-{tag()}-a", category=category, quantity_on_hand=2, reorder_point=5)
    high = await create_item(
        stub, sku=f"L-{tag()}-b", category=category, quantity_on_hand=50, reorder_point=5, preferred_vendor_id=vendor
    )
    third = await create_item(stub, sku=f"L-{tag()}-c", category=category, warehouse_location="Z-9")

    async def ids(**filters: object) -> list[str]:
        request = api.ListInventoryItemsRequest(categories=[category], **filters)
        return [i.id for i in (await stub.ListInventoryItems(request)).inventory_items]

    assert sorted(await ids()) == sorted([low.id, high.id, third.id])
    assert set(await ids(at_or_below_reorder_point=True)) == {low.id, third.id}
    assert await ids(preferred_vendor_ids=[vendor]) == [high.id]
    assert await ids(warehouse_location="Z-9") == [third.id]
    assert await ids(query=high.sku.lower()) == [high.id]
    assert await ids(statuses=[pb.INVENTORY_ITEM_STATUS_DISCONTINUED]) == []

    first = await stub.ListInventoryItems(api.ListInventoryItemsRequest(categories=[category], page_size=2))
    assert first.total_size == 3 and first.next_page_token
    second = await stub.ListInventoryItems(
        api.ListInventoryItemsRequest(categories=[category], page_size=2, page_token=first.next_page_token)
    )
    skus = [i.sku for i in first.inventory_items] + [i.sku for i in second.inventory_items]
    assert skus == sorted(skus) and len(set(skus)) == 3 and not second.next_page_token


async def test_list_rejects_bad_filters(stub: Stub, db: asyncpg.Connection) -> None:
    for request, field in [
        (api.ListInventoryItemsRequest(statuses=[99]), "statuses"),
        (api.ListInventoryItemsRequest(preferred_vendor_ids=["x"]), "preferred_vendor_ids"),
        (api.ListInventoryItemsRequest(page_size=-1), "page_size"),
        (api.ListInventoryItemsRequest(page_token="garbage"), "page_token"),
    ]:
        await rejected(db, lambda r=request: stub.ListInventoryItems(r), Code.INVALID_ARGUMENT, fields=(field,))


async def test_update_item(stub: Stub, db: asyncpg.Connection) -> None:
    item = await create_item(stub, quantity_on_hand=10, reorder_point=2)
    request = update(
        item.id,
        ("name", "unit_price", "reorder_quantity", "status"),
        version=1,
        name="Renamed",
        unit_price=dec("12.5"),
        reorder_quantity=40,
        status=pb.INVENTORY_ITEM_STATUS_DISCONTINUED,
    )
    updated = (await stub.UpdateInventoryItem(request, metadata=CALLER)).inventory_item
    assert (updated.name, updated.unit_price.value, updated.reorder_quantity, updated.version) == (
        "Renamed",
        "12.50",
        40,
        2,
    )
    assert updated.status == pb.INVENTORY_ITEM_STATUS_DISCONTINUED
    assert updated.quantity_on_hand == 10
    [event] = await events(db, item.id, "InventoryItemUpdated")
    assert list(event.changed_fields) == ["name", "reorder_quantity", "status", "unit_price"]
    assert (event.name, event.unit_price.value, event.version) == ("Renamed", "12.50", 2)
    assert not event.HasField("description") and not event.HasField("unit_cost")

    # The same values again: nothing changes, no event, no new version.
    again = (await stub.UpdateInventoryItem(update(item.id, ("name",), name="Renamed"))).inventory_item
    assert again.version == 2
    assert len(await events(db, item.id, "InventoryItemUpdated")) == 1


async def test_update_rejections_write_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    item = await create_item(stub)
    ids = (item.id,)
    cases: list[tuple[api.UpdateInventoryItemRequest, Code, tuple[str, ...]]] = [
        (update(item.id, ("name",), version=7, name="x"), Code.ABORTED, ()),
        (update(item.id, ()), Code.INVALID_ARGUMENT, ("update_mask",)),
        (update(item.id, ("quantity_on_hand",), quantity_on_hand=5), Code.INVALID_ARGUMENT, ("update_mask",)),
        (update(item.id, ("sku",), sku="other"), Code.INVALID_ARGUMENT, ("update_mask",)),
        (update(item.id, ("name",), name=""), Code.INVALID_ARGUMENT, ("inventory_item.name",)),
        (update(item.id, ("unit_cost",), unit_cost=dec("-2")), Code.INVALID_ARGUMENT, ("inventory_item.unit_cost",)),
        (update(item.id, ("status",)), Code.INVALID_ARGUMENT, ("inventory_item.status",)),
        (update(item.id, ("reorder_quantity",), reorder_quantity=0), Code.INVALID_ARGUMENT, ("reorder_quantity",)),
        (
            update(item.id, ("preferred_vendor_id",), preferred_vendor_id="v"),
            Code.INVALID_ARGUMENT,
            ("preferred_vendor_id",),
        ),
        (update(str(uuid.uuid4()), ("name",), name="x"), Code.NOT_FOUND, ()),
        (update("bad", ("name",), name="x"), Code.INVALID_ARGUMENT, ("inventory_item.id",)),
    ]
    for request, code, fields in cases:
        await rejected(db, lambda r=request: stub.UpdateInventoryItem(r), code, fields=fields, items=ids)


async def test_stale_version_after_a_stock_change(stub: Stub, db: asyncpg.Connection) -> None:
    """Stock operations raise the version too, so an edit based on an older read is refused."""
    item = await create_item(stub, quantity_on_hand=5)
    await stub.AdjustStock(
        api.AdjustStockRequest(item_id=item.id, movement_type=pb.STOCK_MOVEMENT_TYPE_ADJUSTMENT, quantity=1, reason="c")
    )
    before = await counts(db)
    await rejected(
        db,
        lambda: stub.UpdateInventoryItem(update(item.id, ("name",), version=1, name="n")),
        Code.ABORTED,
        items=(item.id,),
    )
    assert await counts(db) == before
    fresh = await get_item(stub, item.id)
    ok = await stub.UpdateInventoryItem(update(item.id, ("name",), version=fresh.version, name="n"))
    assert ok.inventory_item.version == fresh.version + 1
