"""Receiving through the real service: partial and full receipts, exactly one PurchaseOrderReceived
per receipt (decoded from the outbox), over-receipt and other bad receipts writing nothing, and the
vendor performance rows kept from receipts on fixed dates."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg
from erp.procurement.v1 import procurement_pb2 as pb
from erp.procurement.v1 import procurement_service_pb2 as api

from tests.procurement.helpers import (
    APPROVER,
    Code,
    Stub,
    counts,
    create_vendor,
    day,
    dec,
    event_types,
    item,
    ordered_order,
    outbox_events,
    receipt,
    receive,
    rejected,
    rpc_error,
    tag,
    violation_fields,
)

PO_RECEIVED = "erp.procurement.v1.PurchaseOrderReceived"


async def test_partial_then_full_receipt(stub: Stub, db: asyncpg.Connection) -> None:
    vendor = await create_vendor(stub)
    po = await ordered_order(
        stub,
        vendor.id,
        [item("RCV-A", 10, "2.50"), item("RCV-B", 4, "10.00")],
        tax_amount=dec("6.50"),
        shipping_cost=dec("13.00"),
        requesting_department="Warehouse",
    )  # subtotal 65.00
    before = await counts(db)
    first = await receive(stub, po, [(0, 6, 0)], day(2024, 3, 8))
    assert first.status == pb.PURCHASE_ORDER_STATUS_PARTIALLY_RECEIVED
    assert [(i.quantity_received, i.quantity_rejected) for i in first.items] == [(6, 0), (0, 0)]
    assert not first.HasField("actual_delivery_date") and first.received_by == "" and not first.HasField("received_at")
    after = await counts(db)
    assert (after["outbox"] - before["outbox"], after["event_store"] - before["event_store"]) == (1, 1)
    assert after["purchase_order_receipts"] - before["purchase_order_receipts"] == 1

    second = await receive(stub, first, [(1, 3, 1), (0, 4, 0)], day(2024, 3, 12))
    assert second.status == pb.PURCHASE_ORDER_STATUS_RECEIVED
    assert [(i.quantity_received, i.quantity_rejected) for i in second.items] == [(10, 0), (3, 1)]
    assert (second.actual_delivery_date.month, second.actual_delivery_date.day) == (3, 12)
    assert second.received_by == APPROVER and second.HasField("received_at")
    assert second.version == po.version + 2

    events = await outbox_events(db, po.id, PO_RECEIVED)
    assert len(events) == 2  # exactly one per receipt
    e1, e2 = events
    assert [
        (li.sku, li.quantity_received, li.quantity_rejected, li.unit_cost.value, li.amount.value) for li in e1.lines
    ] == [("RCV-A", 6, 0, "2.50", "15.00")]
    assert (e1.total_amount.value, e1.fully_received, e1.status) == (
        "15.00",
        False,
        pb.PURCHASE_ORDER_STATUS_PARTIALLY_RECEIVED,
    )
    # Tax and shipping follow the accepted value: 15.00 of 65.00, then 40.00 more (10.00 rejected).
    assert (e1.tax_amount.value, e1.shipping_cost.value) == ("1.50", "3.00")
    assert [(li.sku, li.quantity_received, li.quantity_rejected, li.amount.value) for li in e2.lines] == [
        ("RCV-A", 4, 0, "10.00"),
        ("RCV-B", 3, 1, "30.00"),
    ]
    assert (e2.total_amount.value, e2.tax_amount.value, e2.shipping_cost.value) == ("40.00", "4.00", "8.00")
    assert (e2.fully_received, e2.status, e2.version) == (True, pb.PURCHASE_ORDER_STATUS_RECEIVED, second.version)
    for e in events:
        assert (e.po_number, e.vendor_id, e.requesting_department, e.received_by) == (
            po.po_number,
            vendor.id,
            "Warehouse",
            APPROVER,
        )
        assert (e.expected_delivery_date.month, e.expected_delivery_date.day) == (3, 15)
    assert (e1.receipt_date.day, e2.receipt_date.day) == (8, 12)
    assert await event_types(db, po.id) == [
        "PurchaseOrderCreated",
        "PurchaseOrderApproved",
        "PurchaseOrderOrdered",
        "PurchaseOrderReceived",
        "PurchaseOrderReceived",
    ]
    rows = await db.fetch(
        "SELECT receipt_number, receipt_date, quantity_received, quantity_rejected, amount::text AS amount, "
        "received_by FROM purchase_order_receipts WHERE purchase_order_id = $1 ORDER BY receipt_number",
        uuid.UUID(po.id),
    )
    assert [tuple(r.values()) for r in rows] == [
        (1, date(2024, 3, 8), 6, 0, "15.00", uuid.UUID(APPROVER)),
        (2, date(2024, 3, 12), 7, 1, "40.00", uuid.UUID(APPROVER)),
    ]


async def test_a_receipt_of_only_rejected_units_still_counts(stub: Stub) -> None:
    vendor = await create_vendor(stub)
    po = await ordered_order(stub, vendor.id, [item(quantity=2)])
    got = await receive(stub, po, [(0, 0, 2)])
    assert got.status == pb.PURCHASE_ORDER_STATUS_RECEIVED
    assert (got.items[0].quantity_received, got.items[0].quantity_rejected) == (0, 2)


async def test_over_receipt_is_rejected_with_nothing_written(stub: Stub, db: asyncpg.Connection) -> None:
    vendor = await create_vendor(stub)
    po = await ordered_order(stub, vendor.id, [item(quantity=5), item(quantity=3)])
    po = await receive(stub, po, [(0, 2, 1)])

    def call(lines: list[tuple[int, int, int]], **kw: Any) -> Any:
        req = receipt(po, lines, **kw)
        return lambda: stub.ReceivePurchaseOrder(req)

    err = await rejected(
        db, call([(0, 2, 1)]), Code.INVALID_ARGUMENT, orders=(po.id,), fields=("lines[0].quantity_received",)
    )  # 3 + 3 > 5
    assert "outstanding" in err.details()
    await rejected(db, call([(1, 4, 0)]), Code.INVALID_ARGUMENT, orders=(po.id,))
    await rejected(
        db, call([(1, 3, 0), (0, 0, 3)]), Code.INVALID_ARGUMENT, orders=(po.id,), fields=("lines[1].quantity_received",)
    )  # everything or nothing: line 1 fits, line 0 not
    # The same line twice in one receipt, negative and empty quantities, no lines at all.
    await rejected(
        db,
        call([(1, 1, 0), (1, 1, 0)]),
        Code.INVALID_ARGUMENT,
        orders=(po.id,),
        fields=("lines[1].purchase_order_item_id",),
    )
    await rejected(
        db, call([(1, -1, 0)]), Code.INVALID_ARGUMENT, orders=(po.id,), fields=("lines[0].quantity_received",)
    )
    await rejected(
        db, call([(1, 0, -1)]), Code.INVALID_ARGUMENT, orders=(po.id,), fields=("lines[0].quantity_rejected",)
    )
    await rejected(
        db, call([(1, 0, 0)]), Code.INVALID_ARGUMENT, orders=(po.id,), fields=("lines[0].quantity_received",)
    )
    await rejected(db, call([]), Code.INVALID_ARGUMENT, orders=(po.id,), fields=("lines",))
    # A line of another order, a bad id.
    other = await ordered_order(stub, vendor.id)
    foreign = api.ReceivePurchaseOrderRequest(
        id=po.id,
        receipt_date=day(2024, 3, 10),
        lines=[api.ReceiptLineInput(purchase_order_item_id=other.items[0].id, quantity_received=1)],
    )
    await rejected(
        db,
        lambda: stub.ReceivePurchaseOrder(foreign),
        Code.INVALID_ARGUMENT,
        orders=(po.id,),
        fields=("lines[0].purchase_order_item_id",),
    )
    bad_id = api.ReceivePurchaseOrderRequest(
        id=po.id, lines=[api.ReceiptLineInput(purchase_order_item_id="x", quantity_received=1)]
    )
    await rejected(
        db,
        lambda: stub.ReceivePurchaseOrder(bad_id),
        Code.INVALID_ARGUMENT,
        orders=(po.id,),
        fields=("lines[0].purchase_order_item_id",),
    )
    # Dates: before the order, before the previous receipt, in the future.
    await rejected(
        db, call([(1, 1, 0)], when=day(2024, 2, 28)), Code.INVALID_ARGUMENT, orders=(po.id,), fields=("receipt_date",)
    )
    await rejected(
        db, call([(1, 1, 0)], when=day(2024, 3, 9)), Code.INVALID_ARGUMENT, orders=(po.id,), fields=("receipt_date",)
    )
    tomorrow = date.today() + timedelta(days=1)
    await rejected(
        db,
        call([(1, 1, 0)], when=day(tomorrow.year, tomorrow.month, tomorrow.day)),
        Code.INVALID_ARGUMENT,
        orders=(po.id,),
        fields=("receipt_date",),
    )
    # Stale version, unknown order.
    stale = receipt(po, [(1, 1, 0)])
    stale.version = po.version - 1
    await rejected(db, lambda: stub.ReceivePurchaseOrder(stale), Code.ABORTED, orders=(po.id,))
    missing = receipt(po, [(1, 1, 0)])
    missing.id = str(uuid.uuid4())
    await rejected(db, lambda: stub.ReceivePurchaseOrder(missing), Code.NOT_FOUND)


async def test_every_violation_of_a_receipt_is_reported(stub: Stub, db: asyncpg.Connection) -> None:
    vendor = await create_vendor(stub)
    po = await ordered_order(stub, vendor.id, [item(quantity=1), item(quantity=1)])
    req = receipt(po, [(0, 2, 0), (1, 5, 0)])
    err = await rejected(db, lambda: stub.ReceivePurchaseOrder(req), Code.INVALID_ARGUMENT, orders=(po.id,))
    assert violation_fields(err) == ["lines[0].quantity_received", "lines[1].quantity_received"]


async def _performance(stub: Stub, vendor_id: str, **kw: Any) -> list[tuple[Any, ...]]:
    resp = await stub.ListVendorPerformance(api.ListVendorPerformanceRequest(vendor_id=vendor_id, **kw))
    return [
        (
            (r.metric_date.month, r.metric_date.day),
            r.total_orders,
            r.on_time_deliveries,
            r.late_deliveries,
            r.quality_issues,
            r.average_delivery_days.value,
        )
        for r in resp.vendor_performance
    ]


async def test_vendor_performance_on_fixed_dates(stub: Stub) -> None:
    vendor = await create_vendor(stub, name=f"Perf {tag()}")
    # A: ordered 03-01, expected 03-10, all on 03-08 -> on time, 7 days.
    a = await ordered_order(stub, vendor.id, [item(quantity=2)], expected_delivery_date=day(2024, 3, 10))
    await receive(stub, a, [(0, 2, 0)], day(2024, 3, 8))
    # B: ordered 03-01, expected 03-05, all on 03-08 with a rejected unit -> late, 7 days, a quality issue.
    b = await ordered_order(stub, vendor.id, [item(quantity=2)], expected_delivery_date=day(2024, 3, 5))
    await receive(stub, b, [(0, 1, 1)], day(2024, 3, 8))
    # C: ordered 03-02, expected 03-10: part on 03-09 (counted that day), rest on 03-12 with a rejection:
    # late, 10 days, booked on 03-09 where the order was counted; the rejection on 03-12.
    c = await ordered_order(
        stub, vendor.id, [item(quantity=3)], order_date=day(2024, 3, 2), expected_delivery_date=day(2024, 3, 10)
    )
    c = await receive(stub, c, [(0, 1, 0)], day(2024, 3, 9))
    await receive(stub, c, [(0, 1, 1)], day(2024, 3, 12))
    # D: ordered 03-01, expected 03-20, all on 03-09 -> on time, 8 days; 03-09 averages 10 and 8.
    d = await ordered_order(stub, vendor.id, [item(quantity=1)], expected_delivery_date=day(2024, 3, 20))
    await receive(stub, d, [(0, 1, 0)], day(2024, 3, 9))
    # E: partially received only: counted, not yet on time or late.
    e = await ordered_order(stub, vendor.id, [item(quantity=5)], expected_delivery_date=day(2024, 3, 20))
    await receive(stub, e, [(0, 1, 0)], day(2024, 3, 12))

    assert await _performance(stub, vendor.id) == [
        ((3, 12), 1, 0, 0, 1, ""),
        ((3, 9), 2, 1, 1, 0, "9.00"),
        ((3, 8), 2, 1, 1, 1, "7.00"),
    ]
    assert await _performance(stub, vendor.id, start_date=day(2024, 3, 9), end_date=day(2024, 3, 11)) == [
        ((3, 9), 2, 1, 1, 0, "9.00")
    ]
    page = await stub.ListVendorPerformance(api.ListVendorPerformanceRequest(vendor_id=vendor.id, page_size=2))
    assert page.total_size == 3 and len(page.vendor_performance) == 2 and page.next_page_token
    assert all(r.vendor_id == vendor.id for r in page.vendor_performance)

    # vendor_ids: several vendors' rows in one call (newest first, then by vendor).
    other = await create_vendor(stub, name=f"Perf {tag()}")
    f = await ordered_order(stub, other.id, [item(quantity=1)], expected_delivery_date=day(2024, 3, 20))
    await receive(stub, f, [(0, 1, 0)], day(2024, 3, 9))
    both = await stub.ListVendorPerformance(api.ListVendorPerformanceRequest(vendor_ids=[vendor.id, other.id]))
    rows = [((r.metric_date.month, r.metric_date.day), r.vendor_id) for r in both.vendor_performance]
    assert sorted(rows, key=lambda x: (x[0], x[1]), reverse=True) == rows
    assert {v for _, v in rows} == {vendor.id, other.id} and both.total_size == 4
    assert ((3, 9), other.id) in rows


async def test_list_vendor_performance_errors(stub: Stub) -> None:
    missing = api.ListVendorPerformanceRequest(vendor_id=str(uuid.uuid4()))
    with_bad_id = api.ListVendorPerformanceRequest(vendor_id="nope")
    with_bad_ids = api.ListVendorPerformanceRequest(vendor_ids=[str(uuid.uuid4()), "nope"])
    backwards = api.ListVendorPerformanceRequest(start_date=day(2024, 3, 2), end_date=day(2024, 3, 1))
    await rpc_error(stub.ListVendorPerformance(missing), Code.NOT_FOUND)
    await rpc_error(stub.ListVendorPerformance(with_bad_id), Code.INVALID_ARGUMENT)
    err = await rpc_error(stub.ListVendorPerformance(with_bad_ids), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["vendor_ids"]
    err = await rpc_error(stub.ListVendorPerformance(backwards), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["end_date"]
