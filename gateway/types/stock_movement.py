"""StockMovement (erp.inventory.v1.StockMovement): one audited change of an item's stock."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from erp.inventory.v1 import inventory_pb2 as pb

from gateway.enums import ProtoEnum
from gateway.refs import with_references
from gateway.wire import datetime_of, id_or_none


@strawberry.enum(description="Why stock changed.")
class StockMovementType(enum.Enum):
    RECEIPT = "RECEIPT"
    ADJUSTMENT = "ADJUSTMENT"
    RESERVATION = "RESERVATION"
    FULFILLMENT = "FULFILLMENT"
    DAMAGE = "DAMAGE"
    THEFT = "THEFT"


MOVEMENT_TYPE = ProtoEnum(StockMovementType, pb.StockMovementType, "STOCK_MOVEMENT_TYPE_")


@strawberry.type(description="One audited change of an item's stock.")
@with_references(pb.StockMovement.DESCRIPTOR)
class StockMovement:
    id: strawberry.ID
    item_id: strawberry.ID
    movement_type: StockMovementType
    quantity: int = strawberry.field(description="Signed change: positive in, negative out.")
    previous_quantity: int
    new_quantity: int
    reference: str | None
    reason: str | None
    moved_by: strawberry.ID | None
    moved_at: datetime | None

    @classmethod
    def from_proto(cls, m: pb.StockMovement) -> StockMovement:
        return cls(
            id=strawberry.ID(m.id),
            item_id=strawberry.ID(m.item_id),
            movement_type=MOVEMENT_TYPE.from_pb(m.movement_type),
            quantity=m.quantity,
            previous_quantity=m.previous_quantity,
            new_quantity=m.new_quantity,
            reference=m.reference or None,
            reason=m.reason or None,
            moved_by=id_or_none(m.moved_by),
            moved_at=datetime_of(m, "moved_at"),
        )
