"""The purchase order lifecycle through the real service: approval and separation of duties (with
a configurable threshold), ordering, cancelling, and every forbidden transition writing nothing."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator

import asyncpg
import grpc
import pytest
from erp.procurement.v1 import procurement_pb2 as pb
from erp.procurement.v1 import procurement_service_pb2 as api
from erp.procurement.v1 import procurement_service_pb2_grpc as api_grpc

from services.ops.embedded import free_port
from services.procurement.config import APPROVAL_THRESHOLD_ENV
from services.runtime.serve import load_definition
from services.runtime.service import start_service
from services.runtime.settings import Settings
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
    item,
    mark_ordered,
    ordered_order,
    outbox_events,
    receipt,
    receive,
    rejected,
    set_vendor_status,
)

PO_APPROVED = "erp.procurement.v1.PurchaseOrderApproved"
PO_ORDERED = "erp.procurement.v1.PurchaseOrderOrdered"
PO_CANCELLED = "erp.procurement.v1.PurchaseOrderCancelled"


def approve_call(stub: Stub, po: pb.PurchaseOrder, user: str | None) -> object:
    req = api.ApprovePurchaseOrderRequest(id=po.id, version=po.version)
    return lambda: stub.ApprovePurchaseOrder(req, metadata=as_user(user) if user else None)


async def test_creator_cannot_approve_above_the_threshold(stub: Stub, db: asyncpg.Connection) -> None:
    vendor = await create_vendor(stub)
    po = await create_order(stub, vendor.id, [item(quantity=1000, price="10.01")])  # 10010.00 > 10000.00
    for user in (CREATOR, None):
        await rejected(
            db, approve_call(stub, po, user), Code.FAILED_PRECONDITION, orders=(po.id,), message="separation of duties"
        )
    got = await approve(stub, po, APPROVER)
    assert got.status == pb.PURCHASE_ORDER_STATUS_APPROVED and got.approved_by == APPROVER
    assert got.HasField("approved_at") and got.version == po.version + 1
    [event] = await outbox_events(db, po.id, PO_APPROVED)
    assert (event.approved_by, event.total_amount.value, event.version) == (APPROVER, "10010.00", got.version)


async def test_creator_may_approve_at_or_below_the_threshold(stub: Stub) -> None:
    vendor = await create_vendor(stub)
    at_threshold = await create_order(stub, vendor.id, [item(quantity=1000, price="10.00")])
    assert at_threshold.total_amount.value == "10000.00"
    got = await approve(stub, at_threshold, CREATOR)
    assert got.status == pb.PURCHASE_ORDER_STATUS_APPROVED and got.approved_by == CREATOR


async def test_system_created_orders_need_an_identified_approver(stub: Stub, db: asyncpg.Connection) -> None:
    vendor = await create_vendor(stub)
    req = api.CreatePurchaseOrderRequest(
        vendor_id=vendor.id, order_date=day(2024, 3, 1), items=[item(quantity=2000, price="10.00")]
    )
    po = (await stub.CreatePurchaseOrder(req)).purchase_order  # anonymous: no creator
    assert po.created_by == ""
    await rejected(db, approve_call(stub, po, None), Code.FAILED_PRECONDITION, orders=(po.id,))
    assert (await approve(stub, po, CREATOR)).approved_by == CREATOR


@pytest.fixture
async def low_threshold_stub(settings: Settings) -> AsyncIterator[Stub]:
    """A second procurement process (no consumers) started with ERP_PO_APPROVAL_THRESHOLD=100.00."""
    definition = dataclasses.replace(load_definition("procurement"), handlers=lambda deps: {})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(APPROVAL_THRESHOLD_ENV, "100.00")
        running = await start_service(definition, settings, port=free_port())
    channel = grpc.aio.insecure_channel(running.server.address)
    try:
        yield api_grpc.ProcurementServiceStub(channel)
    finally:
        await channel.close()
        await running.shutdown()


async def test_the_threshold_is_configurable(stub: Stub, low_threshold_stub: Stub, db: asyncpg.Connection) -> None:
    vendor = await create_vendor(stub)
    po = await create_order(stub, vendor.id, [item(quantity=1, price="150.00")])
    await rejected(
        db,
        approve_call(low_threshold_stub, po, CREATOR),
        Code.FAILED_PRECONDITION,
        orders=(po.id,),
        message="above 100.00",
    )
    assert (await approve(stub, po, CREATOR)).status == pb.PURCHASE_ORDER_STATUS_APPROVED  # default 10000.00


async def test_mark_ordered_records_every_line(stub: Stub, db: asyncpg.Connection) -> None:
    vendor = await create_vendor(stub)
    po = await approve(stub, await create_order(stub, vendor.id, [item("ORD-A", 5), item("ORD-B", 7, "1.10")]))
    got = await mark_ordered(stub, po, expected_delivery_date=day(2024, 3, 20))
    assert got.status == pb.PURCHASE_ORDER_STATUS_ORDERED and got.HasField("ordered_at")
    assert got.expected_delivery_date.day == 20
    [event] = await outbox_events(db, po.id, PO_ORDERED)
    assert [(li.sku, li.quantity, li.unit_price.value) for li in event.lines] == [
        ("ORD-A", 5, "12.50"),
        ("ORD-B", 7, "1.10"),
    ]
    assert (event.po_number, event.vendor_id, event.version) == (po.po_number, vendor.id, got.version)
    assert event.expected_delivery_date.day == 20


async def test_a_suspended_vendor_is_not_sent_an_order(stub: Stub, db: asyncpg.Connection) -> None:
    vendor = await create_vendor(stub)
    po = await approve(stub, await create_order(stub, vendor.id))
    await set_vendor_status(stub, vendor, pb.VENDOR_STATUS_SUSPENDED)
    req = api.MarkPurchaseOrderOrderedRequest(id=po.id, version=po.version)
    await rejected(
        db, lambda: stub.MarkPurchaseOrderOrdered(req), Code.FAILED_PRECONDITION, orders=(po.id,), message="suspended"
    )


async def test_cancel_records_the_open_quantities(stub: Stub, db: asyncpg.Connection) -> None:
    vendor = await create_vendor(stub)
    po = await ordered_order(stub, vendor.id, [item("CAN-A", 4), item("CAN-B", 9)], notes="first note")
    req = api.CancelPurchaseOrderRequest(id=po.id, reason="vendor cannot deliver", version=po.version)
    got = (await stub.CancelPurchaseOrder(req)).purchase_order
    assert got.status == pb.PURCHASE_ORDER_STATUS_CANCELLED
    assert got.notes == "first note\nCancelled: vendor cannot deliver"
    [event] = await outbox_events(db, po.id, PO_CANCELLED)
    assert event.previous_status == pb.PURCHASE_ORDER_STATUS_ORDERED and event.reason == "vendor cannot deliver"
    assert [(li.sku, li.quantity) for li in event.lines] == [("CAN-A", 4), ("CAN-B", 9)]

    pending = await create_order(stub, vendor.id)
    cancelled = (
        await stub.CancelPurchaseOrder(api.CancelPurchaseOrderRequest(id=pending.id, reason="not needed"))
    ).purchase_order
    assert cancelled.status == pb.PURCHASE_ORDER_STATUS_CANCELLED
    [event] = await outbox_events(db, pending.id, PO_CANCELLED)
    assert event.previous_status == pb.PURCHASE_ORDER_STATUS_PENDING


async def test_forbidden_transitions_write_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    vendor = await create_vendor(stub)
    pending = await create_order(stub, vendor.id, [item(quantity=4)])
    approved = await approve(stub, await create_order(stub, vendor.id, [item(quantity=4)]))
    partial = await receive(stub, await ordered_order(stub, vendor.id, [item(quantity=4)]), [(0, 1, 0)])
    done = await receive(stub, await ordered_order(stub, vendor.id, [item(quantity=4)]), [(0, 3, 1)])
    cancelled = (
        await stub.CancelPurchaseOrder(
            api.CancelPurchaseOrderRequest(id=(await create_order(stub, vendor.id)).id, reason="dup")
        )
    ).purchase_order

    def approve_(po: pb.PurchaseOrder) -> object:
        return approve_call(stub, po, APPROVER)

    def order_(po: pb.PurchaseOrder) -> object:
        return lambda: stub.MarkPurchaseOrderOrdered(api.MarkPurchaseOrderOrderedRequest(id=po.id))

    def cancel_(po: pb.PurchaseOrder) -> object:
        return lambda: stub.CancelPurchaseOrder(api.CancelPurchaseOrderRequest(id=po.id, reason="why"))

    def receive_(po: pb.PurchaseOrder) -> object:
        req = receipt(po, [(0, 1, 0)])
        return lambda: stub.ReceivePurchaseOrder(req)

    forbidden = [
        (order_, pending),
        (receive_, pending),
        (approve_, approved),
        (receive_, approved),
        (approve_, partial),
        (order_, partial),
        (cancel_, partial),
        (approve_, done),
        (order_, done),
        (cancel_, done),
        (receive_, done),
        (approve_, cancelled),
        (order_, cancelled),
        (cancel_, cancelled),
        (receive_, cancelled),
    ]
    for verb, po in forbidden:
        await rejected(db, verb(po), Code.FAILED_PRECONDITION, orders=(po.id,))


async def test_lifecycle_verbs_check_version_identity_and_reason(stub: Stub, db: asyncpg.Connection) -> None:
    vendor = await create_vendor(stub)
    po = await create_order(stub, vendor.id)
    stale = api.ApprovePurchaseOrderRequest(id=po.id, version=po.version + 1)
    await rejected(db, lambda: stub.ApprovePurchaseOrder(stale), Code.ABORTED, orders=(po.id,))
    missing = api.ApprovePurchaseOrderRequest(id=str(uuid.uuid4()))
    await rejected(db, lambda: stub.ApprovePurchaseOrder(missing), Code.NOT_FOUND)
    bad = api.ApprovePurchaseOrderRequest(id="nope")
    await rejected(db, lambda: stub.ApprovePurchaseOrder(bad), Code.INVALID_ARGUMENT, fields=("id",))
    no_reason = api.CancelPurchaseOrderRequest(id=po.id, reason="  ")
    await rejected(
        db, lambda: stub.CancelPurchaseOrder(no_reason), Code.INVALID_ARGUMENT, fields=("reason",), orders=(po.id,)
    )
    approved = await approve(stub, po)
    early = api.MarkPurchaseOrderOrderedRequest(id=po.id, expected_delivery_date=day(2024, 2, 1))
    await rejected(
        db,
        lambda: stub.MarkPurchaseOrderOrdered(early),
        Code.INVALID_ARGUMENT,
        fields=("expected_delivery_date",),
        orders=(po.id,),
    )
    assert approved.status == pb.PURCHASE_ORDER_STATUS_APPROVED
