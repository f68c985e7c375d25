"""The InventoryItem entity (erp.inventory.v1.InventoryItem), with its movements and reservations."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import strawberry
from erp.inventory.v1 import inventory_pb2 as pb

from gateway.context import GatewayInfo
from gateway.enums import ProtoEnum
from gateway.pagination import Connection, local_connection
from gateway.refs import with_references
from gateway.types.stock_movement import StockMovement
from gateway.types.stock_reservation import RESERVATION_STATUS, StockReservation, StockReservationStatus
from gateway.wire import amount_of, datetime_of, id_or_none


@strawberry.enum(description="Whether the item is stocked.")
class InventoryItemStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    DISCONTINUED = "DISCONTINUED"


ITEM_STATUS = ProtoEnum(InventoryItemStatus, pb.InventoryItemStatus, "INVENTORY_ITEM_STATUS_")


@strawberry.federation.type(keys=["id"], description="A stocked product.")
@with_references(pb.InventoryItem.DESCRIPTOR)
class InventoryItem:
    id: strawberry.ID
    sku: str
    name: str
    description: str | None
    category: str
    quantity_on_hand: int
    quantity_reserved: int
    quantity_available: int = strawberry.field(description="On hand minus reserved.")
    quantity_on_order: int
    reorder_point: int
    reorder_quantity: int
    unit_cost: Decimal
    unit_price: Decimal
    warehouse_location: str | None
    preferred_vendor_id: strawberry.ID | None
    status: InventoryItemStatus
    create_time: datetime | None
    update_time: datetime | None
    version: int = strawberry.field(description="Optimistic-locking version: send it back with every change.")

    @classmethod
    def from_proto(cls, m: pb.InventoryItem) -> InventoryItem:
        return cls(
            id=strawberry.ID(m.id),
            sku=m.sku,
            name=m.name,
            description=m.description or None,
            category=m.category,
            quantity_on_hand=m.quantity_on_hand,
            quantity_reserved=m.quantity_reserved,
            quantity_available=m.quantity_available,
            quantity_on_order=m.quantity_on_order,
            reorder_point=m.reorder_point,
            reorder_quantity=m.reorder_quantity,
            unit_cost=amount_of(m.unit_cost),
            unit_price=amount_of(m.unit_price),
            warehouse_location=m.warehouse_location or None,
            preferred_vendor_id=id_or_none(m.preferred_vendor_id),
            status=ITEM_STATUS.from_pb(m.status),
            create_time=datetime_of(m, "create_time"),
            update_time=datetime_of(m, "update_time"),
            version=m.version,
        )

    @classmethod
    async def resolve_reference(cls, info: GatewayInfo, id: strawberry.ID) -> InventoryItem | None:
        message = await info.context.loaders.inventory.items.load(id)
        return None if message is None else cls.from_proto(message)

    @strawberry.field(description="The item's stock movements, newest first.")
    async def movements(
        self, info: GatewayInfo, first: int | None = None, after: str | None = None
    ) -> Connection[StockMovement]:
        movements = await info.context.loaders.inventory.item_movements.load(self.id)
        return local_connection(movements, StockMovement.from_proto, first, after)

    @strawberry.field(description="The item's reservations (of the given statuses, else all), newest first.")
    async def reservations(
        self,
        info: GatewayInfo,
        statuses: list[StockReservationStatus] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[StockReservation]:
        reservations = await info.context.loaders.inventory.item_reservations.load(self.id)
        if statuses:
            wanted = set(RESERVATION_STATUS.to_pb_list(statuses))
            reservations = [r for r in reservations if r.status in wanted]
        return local_connection(reservations, StockReservation.from_proto, first, after)
