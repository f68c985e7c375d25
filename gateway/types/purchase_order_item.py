"""PurchaseOrderItem (erp.procurement.v1.PurchaseOrderItem): one line of a purchase order."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry
from erp.procurement.v1 import procurement_pb2 as pb

from gateway.refs import with_references
from gateway.wire import amount_of, datetime_of


@strawberry.type(description="One line of a purchase order; `inventoryItem` is the stocked item of its SKU.")
@with_references(pb.PurchaseOrderItem.DESCRIPTOR, skip=frozenset({"purchase_order_id"}))
class PurchaseOrderItem:
    id: strawberry.ID
    line_number: int
    sku: str
    description: str | None
    quantity: int
    unit_price: Decimal
    amount: Decimal
    quantity_received: int
    quantity_rejected: int
    create_time: datetime | None

    @classmethod
    def from_proto(cls, m: pb.PurchaseOrderItem) -> PurchaseOrderItem:
        return cls(
            id=strawberry.ID(m.id),
            line_number=m.line_number,
            sku=m.sku,
            description=m.description or None,
            quantity=m.quantity,
            unit_price=amount_of(m.unit_price),
            amount=amount_of(m.amount),
            quantity_received=m.quantity_received,
            quantity_rejected=m.quantity_rejected,
            create_time=datetime_of(m, "create_time"),
        )
