"""Payment (erp.billing.v1.Payment): money received against an invoice."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import strawberry
from erp.billing.v1 import billing_pb2 as pb

from gateway.enums import ProtoEnum
from gateway.refs import with_references
from gateway.wire import amount_of, date_of, datetime_of


@strawberry.enum
class PaymentMethod(enum.Enum):
    BANK_TRANSFER = "BANK_TRANSFER"
    CREDIT_CARD = "CREDIT_CARD"
    CHECK = "CHECK"
    CASH = "CASH"


PAYMENT_METHOD = ProtoEnum(PaymentMethod, pb.PaymentMethod, "PAYMENT_METHOD_")


@strawberry.type(description="Money received against an invoice.")
@with_references(pb.Payment.DESCRIPTOR)
class Payment:
    id: strawberry.ID
    invoice_id: strawberry.ID
    payment_date: date
    amount: Decimal
    payment_method: PaymentMethod
    reference: str | None
    notes: str | None
    create_time: datetime | None

    @classmethod
    def from_proto(cls, m: pb.Payment) -> Payment:
        return cls(
            id=strawberry.ID(m.id),
            invoice_id=strawberry.ID(m.invoice_id),
            payment_date=date_of(m.payment_date) or date.min,
            amount=amount_of(m.amount),
            payment_method=PAYMENT_METHOD.from_pb(m.payment_method),
            reference=m.reference or None,
            notes=m.notes or None,
            create_time=datetime_of(m, "create_time"),
        )
