"""InvoiceLineItem (erp.billing.v1.InvoiceLineItem): one line of an invoice."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry
from erp.billing.v1 import billing_pb2 as pb

from gateway.wire import amount_of, datetime_of


@strawberry.type(description="One line of an invoice: quantity times unit price.")
class InvoiceLineItem:
    id: strawberry.ID
    line_number: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    create_time: datetime | None

    @classmethod
    def from_proto(cls, m: pb.InvoiceLineItem) -> InvoiceLineItem:
        return cls(
            id=strawberry.ID(m.id),
            line_number=m.line_number,
            description=m.description,
            quantity=amount_of(m.quantity),
            unit_price=amount_of(m.unit_price),
            amount=amount_of(m.amount),
            create_time=datetime_of(m, "create_time"),
        )
