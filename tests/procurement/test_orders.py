"""Purchase orders through the real service: totals, gap-free numbers (also under concurrency),
creation rules, updates while pending, reads and lists; every error path writes nothing."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import date
from typing import Any

import asyncpg
import pytest
from erp.procurement.v1 import procurement_pb2 as pb
from erp.procurement.v1 import procurement_service_pb2 as api

from tests.procurement.helpers import (
    APPROVER,
    CREATOR,
    Code,
    Stub,
    approve,
    as_user,
    create_order,
    create_vendor,
    day,
    dec,
    event_types,
    item,
    mask,
    order_request,
    outbox_events,
    rejected,
    rpc_error,
    set_vendor_status,
    tag,
    violation_fields,
)

PO_CREATED = "erp.procurement.v1.PurchaseOrderCreated"


async def test_create_computes_amounts_and_totals_and_numbers_the_order(stub: Stub, db: asyncpg.Connection) -> None:
    vendor = await create_vendor(stub)
    po = await create_order(
        stub,
        vendor.id,
        [item("A-1", 3, "19.99"), item("B-2", 7, "0.15"), item("C-3", 1, "0")],
        tax_amount=dec("4.88"),
        shipping_cost=dec("10"),
        notes="urgent",
    )
    assert [(i.line_number, i.sku, i.amount.value) for i in po.items] == [
        (1, "A-1", "59.97"),
        (2, "B-2", "1.05"),
        (3, "C-3", "0.00"),
    ]
    assert (po.subtotal.value, po.tax_amount.value, po.shipping_cost.value, po.total_amount.value) == (
        "61.02",
        "4.88",
        "10.00",
        "75.90",
    )
    assert po.status == pb.PURCHASE_ORDER_STATUS_PENDING and po.version == 1
    assert po.created_by == CREATOR and po.approved_by == "" and po.notes == "urgent"
    assert re.fullmatch(r"PO-2024-\d{6}", po.po_number)
    assert (await stub.GetPurchaseOrder(api.GetPurchaseOrderRequest(id=po.id))).purchase_order == po

    [event] = await outbox_events(db, po.id, PO_CREATED)
    assert (event.po_number, event.total_amount.value, event.created_by) == (po.po_number, "75.90", CREATOR)
    assert [(li.sku, li.quantity, li.unit_price.value) for li in event.lines] == [
        ("A-1", 3, "19.99"),
        ("B-2", 7, "0.15"),
        ("C-3", 1, "0.00"),
    ]


async def test_order_date_defaults_to_today_and_charges_to_zero(stub: Stub) -> None:
    vendor = await create_vendor(stub)
    po = await create_order(stub, vendor.id, order_date=None, expected_delivery_date=None)
    today = date.today()
    assert (po.order_date.year, po.order_date.month, po.order_date.day) == (today.year, today.month, today.day)
    assert po.po_number.startswith(f"PO-{today.year}-")
    assert (po.tax_amount.value, po.shipping_cost.value) == ("0.00", "0.00")
    assert not po.HasField("expected_delivery_date")


async def test_po_numbers_are_gap_free_under_concurrency(stub: Stub, db: asyncpg.Connection) -> None:
    """A year nobody else uses: 25 concurrent orders take exactly 1..25; failures take no number."""
    vendor = await create_vendor(stub)
    suspended = await set_vendor_status(stub, await create_vendor(stub), pb.VENDOR_STATUS_SUSPENDED)
    year = 2091

    async def good() -> str:
        return (await create_order(stub, vendor.id, order_date=day(year, 1, 2), expected_delivery_date=None)).po_number

    async def bad() -> None:
        req = order_request(suspended.id, order_date=day(year, 1, 2), expected_delivery_date=None)
        await rpc_error(stub.CreatePurchaseOrder(req), Code.FAILED_PRECONDITION)

    results = await asyncio.gather(*[good() if n % 5 else bad() for n in range(1, 31)])
    numbers = sorted(r for r in results if r)
    assert numbers == [f"PO-{year}-{n:06d}" for n in range(1, 25)]
    assert await good() == f"PO-{year}-000025"
    assert await db.fetchval("SELECT last_number FROM po_number_sequences WHERE year = $1", year) == 25


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"vendor_id": ""}, "vendor_id"),
        ({"vendor_id": "nope"}, "vendor_id"),
        ({"items": []}, "items"),
        ({"items": [item(quantity=0)]}, "items[0].quantity"),
        ({"items": [item(quantity=-3)]}, "items[0].quantity"),
        ({"items": [item(price="-1")]}, "items[0].unit_price"),
        ({"items": [item(price="1.005")]}, "items[0].unit_price"),
        ({"items": [item(price="")]}, "items[0].unit_price"),
        ({"items": [item(price="100000000")]}, "items[0].unit_price"),
        ({"items": [item(quantity=1_000_000, price="99999999.99")]}, "items[0].quantity"),
        ({"items": [item(), item(sku=" ")]}, "items[1].sku"),
        ({"items": [item(sku="S" * 51)]}, "items[0].sku"),
        ({"items": [item(description="")]}, "items[0].description"),
        ({"tax_amount": dec("-0.01")}, "tax_amount"),
        ({"shipping_cost": dec("100000000")}, "shipping_cost"),
        ({"expected_delivery_date": day(2024, 2, 29)}, "expected_delivery_date"),
        ({"order_date": day(2024, 2, 30)}, "order_date"),
        ({"requesting_department": "D" * 101}, "requesting_department"),
        (
            {"items": [item(quantity=100_000, price="99999.99")] * 2, "tax_amount": dec("9999999999.99")},
            "items",
        ),
    ],
)
async def test_create_rejects_bad_input(
    stub: Stub, db: asyncpg.Connection, overrides: dict[str, Any], field: str
) -> None:
    vendor = await create_vendor(stub)
    values = dict(overrides)
    req = order_request(values.pop("vendor_id", vendor.id), **values)
    await rejected(db, lambda: stub.CreatePurchaseOrder(req), Code.INVALID_ARGUMENT, fields=(field,))


async def test_create_for_an_unknown_vendor_is_invalid(stub: Stub, db: asyncpg.Connection) -> None:
    req = order_request(str(uuid.uuid4()))
    await rejected(db, lambda: stub.CreatePurchaseOrder(req), Code.INVALID_ARGUMENT, fields=("vendor_id",))


@pytest.mark.parametrize("status", [pb.VENDOR_STATUS_SUSPENDED, pb.VENDOR_STATUS_INACTIVE])
async def test_suspended_or_inactive_vendors_get_no_new_orders(stub: Stub, db: asyncpg.Connection, status: int) -> None:
    vendor = await set_vendor_status(stub, await create_vendor(stub), status)
    req = order_request(vendor.id)
    await rejected(db, lambda: stub.CreatePurchaseOrder(req), Code.FAILED_PRECONDITION, message="cannot receive")


async def test_update_pending_order_replaces_lines_and_recomputes_totals(stub: Stub, db: asyncpg.Connection) -> None:
    vendor, other = await create_vendor(stub), await create_vendor(stub)
    po = await create_order(stub, vendor.id, [item("OLD", 1, "5.00")], shipping_cost=dec("1.00"))
    req = api.UpdatePurchaseOrderRequest(
        purchase_order=pb.PurchaseOrder(
            id=po.id,
            vendor_id=other.id,
            tax_amount=dec("2.50"),
            notes="revised",
            expected_delivery_date=day(2024, 4, 1),
        ),
        update_mask=mask("vendor_id", "tax_amount", "notes", "expected_delivery_date", "items"),
        replacement_items=[item("NEW-1", 4, "2.25"), item("NEW-2", 2, "10.00")],
        version=po.version,
    )
    got = (await stub.UpdatePurchaseOrder(req)).purchase_order
    assert [(i.line_number, i.sku, i.quantity, i.amount.value) for i in got.items] == [
        (1, "NEW-1", 4, "9.00"),
        (2, "NEW-2", 2, "20.00"),
    ]
    assert (got.subtotal.value, got.tax_amount.value, got.shipping_cost.value, got.total_amount.value) == (
        "29.00",
        "2.50",
        "1.00",
        "32.50",
    )
    assert (got.vendor_id, got.notes, got.version, got.po_number) == (other.id, "revised", 2, po.po_number)
    assert (got.expected_delivery_date.month, got.expected_delivery_date.day) == (4, 1)
    assert (await stub.GetPurchaseOrder(api.GetPurchaseOrderRequest(id=po.id))).purchase_order == got
    assert await event_types(db, po.id) == ["PurchaseOrderCreated", "PurchaseOrderUpdated"]
    (updated,) = await outbox_events(db, po.id, "erp.procurement.v1.PurchaseOrderUpdated")
    assert sorted(updated.changed_fields) == ["expected_delivery_date", "items", "notes", "tax_amount", "vendor_id"]
    assert (updated.vendor_id, updated.total_amount.value, updated.version) == (other.id, "32.50", 2)
    assert [(line.sku, line.quantity) for line in updated.lines] == [("NEW-1", 4), ("NEW-2", 2)]


async def test_update_error_paths_write_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    vendor = await create_vendor(stub)
    suspended = await set_vendor_status(stub, await create_vendor(stub), pb.VENDOR_STATUS_SUSPENDED)
    po = await create_order(stub, vendor.id)
    orders = (po.id,)

    def update(paths: tuple[str, ...], version: int = 0, items: Any = (), **fields: Any) -> Any:
        req = api.UpdatePurchaseOrderRequest(
            purchase_order=pb.PurchaseOrder(id=po.id, **fields),
            update_mask=mask(*paths),
            version=version,
            replacement_items=list(items),
        )
        return lambda: stub.UpdatePurchaseOrder(req)

    await rejected(db, update(("notes",), version=7, notes="x"), Code.ABORTED, orders=orders)
    await rejected(db, update(()), Code.INVALID_ARGUMENT, fields=("update_mask",), orders=orders)
    await rejected(db, update(("status",)), Code.INVALID_ARGUMENT, fields=("update_mask",), orders=orders)
    await rejected(db, update(("items",)), Code.INVALID_ARGUMENT, fields=("replacement_items",), orders=orders)
    await rejected(
        db,
        update(("items",), items=[item(quantity=0)]),
        Code.INVALID_ARGUMENT,
        fields=("replacement_items[0].quantity",),
        orders=orders,
    )
    await rejected(
        db,
        update(("expected_delivery_date",), expected_delivery_date=day(2024, 1, 1)),
        Code.INVALID_ARGUMENT,
        fields=("purchase_order.expected_delivery_date",),
        orders=orders,
    )
    await rejected(
        db,
        update(("order_date",), order_date=day(2024, 3, 20)),
        Code.INVALID_ARGUMENT,
        fields=("purchase_order.expected_delivery_date",),
        orders=orders,
    )
    await rejected(db, update(("vendor_id",), vendor_id=suspended.id), Code.FAILED_PRECONDITION, orders=orders)
    await rejected(
        db,
        update(("vendor_id",), vendor_id=str(uuid.uuid4())),
        Code.INVALID_ARGUMENT,
        fields=("purchase_order.vendor_id",),
        orders=orders,
    )

    # Once approved, only the expected date and notes change.
    approved = await approve(stub, po)
    await rejected(db, update(("items",), items=[item()]), Code.FAILED_PRECONDITION, orders=orders, message="approved")
    await rejected(db, update(("tax_amount",), tax_amount=dec("1")), Code.FAILED_PRECONDITION, orders=orders)
    req = api.UpdatePurchaseOrderRequest(
        purchase_order=pb.PurchaseOrder(id=po.id, notes="call first", expected_delivery_date=day(2024, 3, 20)),
        update_mask=mask("notes", "expected_delivery_date"),
        version=approved.version,
    )
    got = (await stub.UpdatePurchaseOrder(req)).purchase_order
    assert (got.notes, got.expected_delivery_date.day, got.version) == ("call first", 20, approved.version + 1)
    assert got.status == pb.PURCHASE_ORDER_STATUS_APPROVED


async def test_get_and_batch_get_orders(stub: Stub) -> None:
    vendor = await create_vendor(stub)
    a = await create_order(stub, vendor.id, [item(), item()])
    b = await create_order(stub, vendor.id)
    missing = str(uuid.uuid4())
    await rpc_error(stub.GetPurchaseOrder(api.GetPurchaseOrderRequest(id=missing)), Code.NOT_FOUND)
    err = await rpc_error(stub.GetPurchaseOrder(api.GetPurchaseOrderRequest(id="x")), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["id"]
    resp = await stub.BatchGetPurchaseOrders(api.BatchGetPurchaseOrdersRequest(ids=[a.id, b.id, missing, a.id]))
    assert {p.id: len(p.items) for p in resp.purchase_orders} == {a.id: 2, b.id: 1}


async def test_list_orders_filters_and_orders_newest_first(stub: Stub) -> None:
    vendor = await create_vendor(stub)
    sku = f"LIST-{tag()}"
    old = await create_order(
        stub,
        vendor.id,
        [item(sku)],
        order_date=day(2023, 5, 1),
        expected_delivery_date=None,
        requesting_department="Lab",
    )
    new = await create_order(
        stub, vendor.id, [item(sku), item()], order_date=day(2023, 6, 1), expected_delivery_date=None
    )
    newer = await create_order(stub, vendor.id, order_date=day(2023, 7, 1), expected_delivery_date=None)
    await approve(stub, newer)

    async def ids(**kw: Any) -> list[str]:
        return [p.id for p in (await stub.ListPurchaseOrders(api.ListPurchaseOrdersRequest(**kw))).purchase_orders]

    assert await ids(vendor_ids=[vendor.id]) == [newer.id, new.id, old.id]
    assert await ids(vendor_ids=[vendor.id], statuses=[pb.PURCHASE_ORDER_STATUS_APPROVED]) == [newer.id]
    assert await ids(sku=sku) == [new.id, old.id]
    assert await ids(vendor_ids=[vendor.id], order_date_from=day(2023, 5, 2), order_date_to=day(2023, 6, 30)) == [
        new.id
    ]
    assert await ids(vendor_ids=[vendor.id], requesting_department="Lab") == [old.id]
    assert await ids(po_number=old.po_number) == [old.id]
    page = await stub.ListPurchaseOrders(api.ListPurchaseOrdersRequest(vendor_ids=[vendor.id], page_size=2))
    assert page.total_size == 3 and len(page.purchase_orders) == 2 and len(page.purchase_orders[1].items) == 2
    rest = await stub.ListPurchaseOrders(
        api.ListPurchaseOrdersRequest(vendor_ids=[vendor.id], page_size=2, page_token=page.next_page_token)
    )
    assert [p.id for p in rest.purchase_orders] == [old.id]
    await rpc_error(
        stub.ListPurchaseOrders(
            api.ListPurchaseOrdersRequest(order_date_from=day(2023, 2, 1), order_date_to=day(2023, 1, 1))
        ),
        Code.INVALID_ARGUMENT,
    )
    await rpc_error(stub.ListPurchaseOrders(api.ListPurchaseOrdersRequest(vendor_ids=["x"])), Code.INVALID_ARGUMENT)


async def test_the_creator_is_whoever_calls(stub: Stub) -> None:
    vendor = await create_vendor(stub)
    someone = str(uuid.uuid4())
    po = (await stub.CreatePurchaseOrder(order_request(vendor.id), metadata=as_user(someone))).purchase_order
    assert po.created_by == someone
    anonymous = (await stub.CreatePurchaseOrder(order_request(vendor.id))).purchase_order
    assert anonymous.created_by == ""
    assert someone != APPROVER
