"""Inventory commands: items (create, change) and stock (reserve, release, fulfil, adjust)."""

from __future__ import annotations

from decimal import Decimal

import strawberry
from erp.inventory.v1 import inventory_pb2 as pb
from erp.inventory.v1 import inventory_service_pb2 as api
from google.protobuf.duration_pb2 import Duration
from google.protobuf.field_mask_pb2 import FieldMask

from gateway.context import GatewayInfo
from gateway.errors import bad_input
from gateway.types.inventory_item import ITEM_STATUS, InventoryItem, InventoryItemStatus
from gateway.types.stock_movement import MOVEMENT_TYPE, StockMovement, StockMovementType
from gateway.types.stock_reservation import StockReservation
from gateway.wire import fill, provided

UNSET = strawberry.UNSET


@strawberry.input(description="A new item; the opening stock is recorded as an ADJUSTMENT movement.")
class CreateInventoryItemInput:
    sku: str
    name: str
    category: str
    reorder_point: int
    reorder_quantity: int
    unit_cost: Decimal
    unit_price: Decimal
    quantity_on_hand: int = 0
    description: str | None = None
    warehouse_location: str | None = None
    preferred_vendor_id: strawberry.ID | None = None


@strawberry.input(description="Only the fields given change (null clears an optional one); `version` as last read.")
class UpdateInventoryItemInput:
    id: strawberry.ID
    version: int
    name: str | None = UNSET
    description: str | None = UNSET
    category: str | None = UNSET
    reorder_point: int | None = UNSET
    reorder_quantity: int | None = UNSET
    unit_cost: Decimal | None = UNSET
    unit_price: Decimal | None = UNSET
    warehouse_location: str | None = UNSET
    preferred_vendor_id: strawberry.ID | None = UNSET
    status: InventoryItemStatus | None = UNSET


@strawberry.input(description="Give exactly one of `itemId` and `sku`.")
class ReserveStockInput:
    quantity: int
    order_id: str
    item_id: strawberry.ID | None = None
    sku: str | None = None
    customer_id: strawberry.ID | None = None
    ttl_seconds: int | None = strawberry.field(default=None, description="How long it holds; no expiry when null.")


@strawberry.input
class ReleaseReservationInput:
    id: strawberry.ID
    reason: str | None = None


@strawberry.input(description="ADJUSTMENT (either sign), DAMAGE or THEFT (negative); `version` as last read.")
class AdjustStockInput:
    item_id: strawberry.ID
    version: int
    movement_type: StockMovementType
    quantity: int
    reason: str
    reference: str | None = None


@strawberry.type
class ReserveStockPayload:
    reservation: StockReservation
    inventory_item: InventoryItem = strawberry.field(description="The item after the reservation.")


@strawberry.type
class FulfilReservationPayload:
    reservation: StockReservation
    movement: StockMovement = strawberry.field(description="The FULFILLMENT movement recorded.")


@strawberry.type
class AdjustStockPayload:
    inventory_item: InventoryItem = strawberry.field(description="The item after the adjustment.")
    movement: StockMovement


def _item(info: GatewayInfo, item: pb.InventoryItem) -> InventoryItem:
    info.context.loaders.remember([item], changed=True)
    info.context.loaders.inventory.stock_changed(item.id)
    return InventoryItem.from_proto(item)


def _reservation(
    info: GatewayInfo, reservation: pb.StockReservation, *, item_changed: bool = False
) -> StockReservation:
    info.context.loaders.inventory.stock_changed(reservation.item_id, item=item_changed)
    return StockReservation.from_proto(reservation)


@strawberry.type
class InventoryMutations:
    @strawberry.mutation(description="Creates an item (ACTIVE).")
    async def create_inventory_item(self, info: GatewayInfo, input: CreateInventoryItemInput) -> InventoryItem | None:
        request = api.CreateInventoryItemRequest()
        fill(request, provided(input))
        response = await info.context.clients.inventory.call(lambda s: s.CreateInventoryItem(request))
        return _item(info, response.inventory_item)

    @strawberry.mutation(description="Changes the given fields (quantities change only through stock commands).")
    async def update_inventory_item(self, info: GatewayInfo, input: UpdateInventoryItemInput) -> InventoryItem | None:
        values = provided(input, exclude=frozenset({"id", "version"}))
        if not values:
            raise bad_input("input", "name at least one field to change")
        if values.get("status") is not None:
            values["status"] = ITEM_STATUS.to_pb(values["status"])
        item = pb.InventoryItem(id=input.id)
        fill(item, values)
        request = api.UpdateInventoryItemRequest(
            inventory_item=item, update_mask=FieldMask(paths=list(values)), version=input.version
        )
        response = await info.context.clients.inventory.call(lambda s: s.UpdateInventoryItem(request))
        return _item(info, response.inventory_item)

    @strawberry.mutation(description="Reserves available stock for an order.")
    async def reserve_stock(self, info: GatewayInfo, input: ReserveStockInput) -> ReserveStockPayload | None:
        request = api.ReserveStockRequest(
            item_id=input.item_id or "",
            sku=input.sku or "",
            quantity=input.quantity,
            order_id=input.order_id,
            customer_id=input.customer_id or "",
            ttl=None if input.ttl_seconds is None else Duration(seconds=input.ttl_seconds),
        )
        response = await info.context.clients.inventory.call(lambda s: s.ReserveStock(request))
        return ReserveStockPayload(
            reservation=_reservation(info, response.reservation), inventory_item=_item(info, response.inventory_item)
        )

    @strawberry.mutation(description="Releases an ACTIVE reservation (CANCELLED).")
    async def release_reservation(self, info: GatewayInfo, input: ReleaseReservationInput) -> StockReservation | None:
        request = api.ReleaseReservationRequest(id=input.id, reason=input.reason or "")
        response = await info.context.clients.inventory.call(lambda s: s.ReleaseReservation(request))
        return _reservation(info, response.reservation, item_changed=True)

    @strawberry.mutation(description="Ships the stock of an ACTIVE reservation (FULFILLED).")
    async def fulfil_reservation(self, info: GatewayInfo, id: strawberry.ID) -> FulfilReservationPayload | None:
        request = api.FulfilReservationRequest(id=id)
        response = await info.context.clients.inventory.call(lambda s: s.FulfilReservation(request))
        return FulfilReservationPayload(
            reservation=_reservation(info, response.reservation, item_changed=True),
            movement=StockMovement.from_proto(response.movement),
        )

    @strawberry.mutation(description="Corrects or writes off stock; CONFLICT when `version` is stale.")
    async def adjust_stock(self, info: GatewayInfo, input: AdjustStockInput) -> AdjustStockPayload | None:
        request = api.AdjustStockRequest(
            item_id=input.item_id,
            version=input.version,
            movement_type=MOVEMENT_TYPE.to_pb(input.movement_type),
            quantity=input.quantity,
            reason=input.reason,
            reference=input.reference or "",
        )
        response = await info.context.clients.inventory.call(lambda s: s.AdjustStock(request))
        return AdjustStockPayload(
            inventory_item=_item(info, response.inventory_item), movement=StockMovement.from_proto(response.movement)
        )
