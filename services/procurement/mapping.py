"""Rows to protobuf messages and events for the procurement service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from erp.procurement.v1 import events_pb2 as ev
from erp.procurement.v1 import procurement_pb2 as pb

from services.procurement.receiving import Receipt
from services.procurement.tables import PurchaseOrder, PurchaseOrderItem, Vendor, VendorPerformance
from services.runtime.convert import date_to_pb, decimal_to_pb, str_or_empty, timestamp_to_pb

VENDOR_STATUS_TO_PB = {
    "active": pb.VENDOR_STATUS_ACTIVE,
    "inactive": pb.VENDOR_STATUS_INACTIVE,
    "suspended": pb.VENDOR_STATUS_SUSPENDED,
}
VENDOR_STATUS_FROM_PB: dict[int, str] = {v: k for k, v in VENDOR_STATUS_TO_PB.items()}
ORDER_STATUS_TO_PB = {
    "pending": pb.PURCHASE_ORDER_STATUS_PENDING,
    "approved": pb.PURCHASE_ORDER_STATUS_APPROVED,
    "ordered": pb.PURCHASE_ORDER_STATUS_ORDERED,
    "partially_received": pb.PURCHASE_ORDER_STATUS_PARTIALLY_RECEIVED,
    "received": pb.PURCHASE_ORDER_STATUS_RECEIVED,
    "cancelled": pb.PURCHASE_ORDER_STATUS_CANCELLED,
}
ORDER_STATUS_FROM_PB: dict[int, str] = {v: k for k, v in ORDER_STATUS_TO_PB.items()}
VENDOR_EVENT_FIELDS = ("name", "email", "phone", "address", "city", "state", "zip_code", "country", "payment_terms")


def vendor_to_pb(row: Vendor) -> pb.Vendor:
    return pb.Vendor(
        id=str(row.id),
        name=row.name,
        email=row.email,
        phone=row.phone or "",
        address=row.address or "",
        city=row.city or "",
        state=row.state or "",
        zip_code=row.zip_code or "",
        country=row.country or "",
        payment_terms=row.payment_terms or "",
        tax_id=row.tax_id or "",
        status=VENDOR_STATUS_TO_PB[row.status],
        rating=decimal_to_pb(row.rating),
        create_time=timestamp_to_pb(row.created_at),
        update_time=timestamp_to_pb(row.updated_at),
        version=row.version,
    )


def item_to_pb(row: PurchaseOrderItem) -> pb.PurchaseOrderItem:
    return pb.PurchaseOrderItem(
        id=str(row.id),
        purchase_order_id=str(row.purchase_order_id),
        line_number=row.line_number,
        sku=row.sku,
        description=row.description,
        quantity=row.quantity,
        unit_price=decimal_to_pb(row.unit_price),
        amount=decimal_to_pb(row.amount),
        quantity_received=row.quantity_received,
        quantity_rejected=row.quantity_rejected,
        create_time=timestamp_to_pb(row.created_at),
    )


def order_to_pb(row: PurchaseOrder, items: Sequence[PurchaseOrderItem]) -> pb.PurchaseOrder:
    return pb.PurchaseOrder(
        id=str(row.id),
        po_number=row.po_number,
        vendor_id=str(row.vendor_id),
        order_date=date_to_pb(row.order_date),
        expected_delivery_date=date_to_pb(row.expected_delivery_date),
        actual_delivery_date=date_to_pb(row.actual_delivery_date),
        subtotal=decimal_to_pb(row.subtotal),
        tax_amount=decimal_to_pb(row.tax_amount),
        shipping_cost=decimal_to_pb(row.shipping_cost),
        total_amount=decimal_to_pb(row.total_amount),
        status=ORDER_STATUS_TO_PB[row.status],
        approved_by=str_or_empty(row.approved_by),
        approved_at=timestamp_to_pb(row.approved_at),
        received_by=str_or_empty(row.received_by),
        received_at=timestamp_to_pb(row.received_at),
        accounting_transaction_id=str_or_empty(row.accounting_transaction_id),
        notes=row.notes or "",
        create_time=timestamp_to_pb(row.created_at),
        update_time=timestamp_to_pb(row.updated_at),
        created_by=str_or_empty(row.created_by),
        requesting_department=row.requesting_department or "",
        items=[item_to_pb(i) for i in sorted(items, key=lambda i: i.line_number)],
        ordered_at=timestamp_to_pb(row.ordered_at),
        version=row.version,
    )


def performance_to_pb(row: VendorPerformance) -> pb.VendorPerformance:
    return pb.VendorPerformance(
        id=str(row.id),
        vendor_id=str(row.vendor_id),
        metric_date=date_to_pb(row.metric_date),
        total_orders=row.total_orders,
        on_time_deliveries=row.on_time_deliveries,
        late_deliveries=row.late_deliveries,
        quality_issues=row.quality_issues,
        average_delivery_days=decimal_to_pb(row.average_delivery_days),
        create_time=timestamp_to_pb(row.created_at),
    )


# ---- events ------------------------------------------------------------------------------------


def vendor_created(row: Vendor) -> ev.VendorCreated:
    return ev.VendorCreated(
        vendor_id=str(row.id),
        name=row.name,
        email=row.email,
        payment_terms=row.payment_terms or "",
        status=VENDOR_STATUS_TO_PB[row.status],
        rating=decimal_to_pb(row.rating),
        version=row.version,
    )


def vendor_updated(row: Vendor, changed: list[str]) -> ev.VendorUpdated:
    """Only the changed values; the tax id is named in changed_fields, never sent."""
    msg = ev.VendorUpdated(vendor_id=str(row.id), changed_fields=sorted(changed), version=row.version)
    for name in VENDOR_EVENT_FIELDS:
        if name in changed:
            setattr(msg, name, getattr(row, name) or "")
    if "status" in changed:
        msg.status = VENDOR_STATUS_TO_PB[row.status]
    if "rating" in changed and row.rating is not None:
        msg.rating.CopyFrom(decimal_to_pb(row.rating))
    return msg


def _lines(items: Sequence[PurchaseOrderItem], *, outstanding: bool = False) -> list[ev.PurchaseOrderLine]:
    out = []
    for item in sorted(items, key=lambda i: i.line_number):
        quantity = item.quantity - item.quantity_received - item.quantity_rejected if outstanding else item.quantity
        out.append(
            ev.PurchaseOrderLine(
                purchase_order_item_id=str(item.id),
                line_number=item.line_number,
                sku=item.sku,
                quantity=quantity,
                unit_price=decimal_to_pb(item.unit_price),
                amount=decimal_to_pb(item.amount),
            )
        )
    return out


def _order_state(row: PurchaseOrder, items: Sequence[PurchaseOrderItem]) -> dict[str, Any]:
    """What PurchaseOrderCreated and PurchaseOrderUpdated both say: the order as it stands."""
    return {
        "purchase_order_id": str(row.id),
        "po_number": row.po_number,
        "vendor_id": str(row.vendor_id),
        "order_date": date_to_pb(row.order_date),
        "expected_delivery_date": date_to_pb(row.expected_delivery_date),
        "subtotal": decimal_to_pb(row.subtotal),
        "tax_amount": decimal_to_pb(row.tax_amount),
        "shipping_cost": decimal_to_pb(row.shipping_cost),
        "total_amount": decimal_to_pb(row.total_amount),
        "requesting_department": row.requesting_department or "",
        "lines": _lines(items),
        "version": row.version,
    }


def order_created(row: PurchaseOrder, items: Sequence[PurchaseOrderItem]) -> ev.PurchaseOrderCreated:
    return ev.PurchaseOrderCreated(created_by=str_or_empty(row.created_by), **_order_state(row, items))


def order_updated(
    row: PurchaseOrder, items: Sequence[PurchaseOrderItem], changed: list[str]
) -> ev.PurchaseOrderUpdated:
    return ev.PurchaseOrderUpdated(changed_fields=changed, **_order_state(row, items))


def order_approved(row: PurchaseOrder) -> ev.PurchaseOrderApproved:
    return ev.PurchaseOrderApproved(
        purchase_order_id=str(row.id),
        po_number=row.po_number,
        vendor_id=str(row.vendor_id),
        total_amount=decimal_to_pb(row.total_amount),
        requesting_department=row.requesting_department or "",
        approved_by=str_or_empty(row.approved_by),
        approved_at=timestamp_to_pb(row.approved_at),
        version=row.version,
    )


def order_ordered(row: PurchaseOrder, items: Sequence[PurchaseOrderItem]) -> ev.PurchaseOrderOrdered:
    return ev.PurchaseOrderOrdered(
        purchase_order_id=str(row.id),
        po_number=row.po_number,
        vendor_id=str(row.vendor_id),
        order_date=date_to_pb(row.order_date),
        expected_delivery_date=date_to_pb(row.expected_delivery_date),
        lines=_lines(items),
        version=row.version,
    )


def order_cancelled(
    row: PurchaseOrder, items: Sequence[PurchaseOrderItem], previous_status: str, reason: str
) -> ev.PurchaseOrderCancelled:
    return ev.PurchaseOrderCancelled(
        purchase_order_id=str(row.id),
        po_number=row.po_number,
        vendor_id=str(row.vendor_id),
        reason=reason,
        previous_status=ORDER_STATUS_TO_PB[previous_status],
        lines=_lines(items, outstanding=True),
        requesting_department=row.requesting_department or "",
        version=row.version,
    )


def order_received(
    row: PurchaseOrder, receipt: Receipt, receipt_date: date, received_by: uuid.UUID | None
) -> ev.PurchaseOrderReceived:
    return ev.PurchaseOrderReceived(
        purchase_order_id=str(row.id),
        po_number=row.po_number,
        vendor_id=str(row.vendor_id),
        lines=[
            ev.ReceiptLine(
                purchase_order_item_id=str(li.item_id),
                sku=li.sku,
                quantity_received=li.quantity_received,
                quantity_rejected=li.quantity_rejected,
                unit_cost=decimal_to_pb(li.unit_cost),
                amount=decimal_to_pb(li.amount),
            )
            for li in receipt.lines
        ],
        receipt_date=date_to_pb(receipt_date),
        expected_delivery_date=date_to_pb(row.expected_delivery_date),
        requesting_department=row.requesting_department or "",
        total_amount=decimal_to_pb(receipt.amount),
        tax_amount=decimal_to_pb(receipt.tax_amount),
        shipping_cost=decimal_to_pb(receipt.shipping_cost),
        fully_received=receipt.fully_received,
        status=ORDER_STATUS_TO_PB[receipt.status],
        received_by=str_or_empty(received_by),
        version=row.version,
    )
