"""The PurchaseOrder entity (erp.procurement.v1.PurchaseOrder), with its items."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import strawberry
from erp.procurement.v1 import procurement_pb2 as pb

from gateway.context import GatewayInfo
from gateway.enums import ProtoEnum
from gateway.refs import with_references
from gateway.types.journal_entry_source import JournalEntrySource
from gateway.types.purchase_order_item import PurchaseOrderItem
from gateway.wire import amount_of, date_of, datetime_of, id_or_none


@strawberry.enum(
    description="PENDING -> APPROVED -> ORDERED -> PARTIALLY_RECEIVED -> RECEIVED; CANCELLED before receipt."
)
class PurchaseOrderStatus(enum.Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    ORDERED = "ORDERED"
    PARTIALLY_RECEIVED = "PARTIALLY_RECEIVED"
    RECEIVED = "RECEIVED"
    CANCELLED = "CANCELLED"


ORDER_STATUS = ProtoEnum(PurchaseOrderStatus, pb.PurchaseOrderStatus, "PURCHASE_ORDER_STATUS_")


@strawberry.federation.type(keys=["id"], description="An order of goods from a vendor.")
@with_references(pb.PurchaseOrder.DESCRIPTOR)
class PurchaseOrder(JournalEntrySource):
    id: strawberry.ID
    po_number: str
    vendor_id: strawberry.ID
    order_date: date
    expected_delivery_date: date | None
    actual_delivery_date: date | None
    subtotal: Decimal
    tax_amount: Decimal
    shipping_cost: Decimal
    total_amount: Decimal
    status: PurchaseOrderStatus
    requesting_department: str | None
    notes: str | None
    items: list[PurchaseOrderItem] = strawberry.field(description="Ordered by line number.")
    created_by: strawberry.ID | None
    approved_by: strawberry.ID | None
    approved_at: datetime | None
    ordered_at: datetime | None
    received_by: strawberry.ID | None
    received_at: datetime | None
    accounting_transaction_id: strawberry.ID | None
    create_time: datetime | None
    update_time: datetime | None
    version: int = strawberry.field(description="Optimistic-locking version: send it back with every change.")

    @classmethod
    def from_proto(cls, m: pb.PurchaseOrder) -> PurchaseOrder:
        return cls(
            id=strawberry.ID(m.id),
            po_number=m.po_number,
            vendor_id=strawberry.ID(m.vendor_id),
            order_date=date_of(m.order_date) or date.min,
            expected_delivery_date=date_of(m.expected_delivery_date),
            actual_delivery_date=date_of(m.actual_delivery_date),
            subtotal=amount_of(m.subtotal),
            tax_amount=amount_of(m.tax_amount),
            shipping_cost=amount_of(m.shipping_cost),
            total_amount=amount_of(m.total_amount),
            status=ORDER_STATUS.from_pb(m.status),
            requesting_department=m.requesting_department or None,
            notes=m.notes or None,
            items=[PurchaseOrderItem.from_proto(item) for item in m.items],
            created_by=id_or_none(m.created_by),
            approved_by=id_or_none(m.approved_by),
            approved_at=datetime_of(m, "approved_at"),
            ordered_at=datetime_of(m, "ordered_at"),
            received_by=id_or_none(m.received_by),
            received_at=datetime_of(m, "received_at"),
            accounting_transaction_id=id_or_none(m.accounting_transaction_id),
            create_time=datetime_of(m, "create_time"),
            update_time=datetime_of(m, "update_time"),
            version=m.version,
        )

    @classmethod
    async def resolve_reference(cls, info: GatewayInfo, id: strawberry.ID) -> PurchaseOrder | None:
        message = await info.context.loaders.procurement.purchase_orders.load(id)
        return None if message is None else cls.from_proto(message)
