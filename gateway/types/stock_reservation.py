"""StockReservation (erp.inventory.v1.StockReservation): stock held for an order."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from erp.inventory.v1 import inventory_pb2 as pb

from gateway.enums import ProtoEnum
from gateway.refs import with_references
from gateway.wire import datetime_of, id_or_none


@strawberry.enum(description="ACTIVE -> FULFILLED, CANCELLED or EXPIRED.")
class StockReservationStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    FULFILLED = "FULFILLED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


RESERVATION_STATUS = ProtoEnum(StockReservationStatus, pb.StockReservationStatus, "STOCK_RESERVATION_STATUS_")


@strawberry.type(description="Stock held for an order.")
@with_references(pb.StockReservation.DESCRIPTOR)
class StockReservation:
    id: strawberry.ID
    item_id: strawberry.ID
    quantity: int
    order_id: str = strawberry.field(description="The external order the stock is held for.")
    customer_id: strawberry.ID | None
    status: StockReservationStatus
    reserved_at: datetime | None
    fulfilled_at: datetime | None
    expires_at: datetime | None

    @classmethod
    def from_proto(cls, m: pb.StockReservation) -> StockReservation:
        return cls(
            id=strawberry.ID(m.id),
            item_id=strawberry.ID(m.item_id),
            quantity=m.quantity,
            order_id=m.order_id,
            customer_id=id_or_none(m.customer_id),
            status=RESERVATION_STATUS.from_pb(m.status),
            reserved_at=datetime_of(m, "reserved_at"),
            fulfilled_at=datetime_of(m, "fulfilled_at"),
            expires_at=datetime_of(m, "expires_at"),
        )
