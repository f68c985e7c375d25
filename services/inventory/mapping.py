"""Rows to protobuf messages and events for the inventory service."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from erp.inventory.v1 import events_pb2 as ev
from erp.inventory.v1 import inventory_pb2 as pb

from services.inventory import domain
from services.inventory.tables import InventoryItem, InventoryValuation, StockMovement, StockReservation
from services.runtime.convert import date_to_pb, decimal_to_pb, str_or_empty, timestamp_to_pb

ITEM_STATUS_TO_PB = {
    domain.ItemStatus.ACTIVE: pb.INVENTORY_ITEM_STATUS_ACTIVE,
    domain.ItemStatus.INACTIVE: pb.INVENTORY_ITEM_STATUS_INACTIVE,
    domain.ItemStatus.DISCONTINUED: pb.INVENTORY_ITEM_STATUS_DISCONTINUED,
}
ITEM_STATUS_FROM_PB = {v: k for k, v in ITEM_STATUS_TO_PB.items()}

MOVEMENT_TYPE_TO_PB = {
    domain.MovementType.RECEIPT: pb.STOCK_MOVEMENT_TYPE_RECEIPT,
    domain.MovementType.ADJUSTMENT: pb.STOCK_MOVEMENT_TYPE_ADJUSTMENT,
    domain.MovementType.RESERVATION: pb.STOCK_MOVEMENT_TYPE_RESERVATION,
    domain.MovementType.FULFILLMENT: pb.STOCK_MOVEMENT_TYPE_FULFILLMENT,
    domain.MovementType.DAMAGE: pb.STOCK_MOVEMENT_TYPE_DAMAGE,
    domain.MovementType.THEFT: pb.STOCK_MOVEMENT_TYPE_THEFT,
}
MOVEMENT_TYPE_FROM_PB = {v: k for k, v in MOVEMENT_TYPE_TO_PB.items()}

RESERVATION_STATUS_TO_PB = {
    domain.ReservationStatus.ACTIVE: pb.STOCK_RESERVATION_STATUS_ACTIVE,
    domain.ReservationStatus.FULFILLED: pb.STOCK_RESERVATION_STATUS_FULFILLED,
    domain.ReservationStatus.CANCELLED: pb.STOCK_RESERVATION_STATUS_CANCELLED,
    domain.ReservationStatus.EXPIRED: pb.STOCK_RESERVATION_STATUS_EXPIRED,
}
RESERVATION_STATUS_FROM_PB = {v: k for k, v in RESERVATION_STATUS_TO_PB.items()}

ITEM_AGGREGATE = "InventoryItem"
RESERVATION_AGGREGATE = "StockReservation"
VALUATION_AGGREGATE = "InventoryValuation"


def levels_of(row: InventoryItem) -> domain.Levels:
    return domain.Levels(row.quantity_on_hand, row.quantity_reserved, row.quantity_on_order)


def item_to_pb(row: InventoryItem) -> pb.InventoryItem:
    # quantity_available is derived here, not read: the generated column is only refreshed by a
    # round trip, and on hand minus reserved is its definition.
    return pb.InventoryItem(
        id=str(row.id),
        sku=row.sku,
        name=row.name,
        description=row.description or "",
        category=row.category,
        quantity_on_hand=row.quantity_on_hand,
        quantity_reserved=row.quantity_reserved,
        quantity_on_order=row.quantity_on_order,
        reorder_point=row.reorder_point,
        reorder_quantity=row.reorder_quantity,
        unit_cost=decimal_to_pb(row.unit_cost),
        unit_price=decimal_to_pb(row.unit_price),
        warehouse_location=row.warehouse_location or "",
        preferred_vendor_id=str_or_empty(row.preferred_vendor_id),
        status=ITEM_STATUS_TO_PB[domain.ItemStatus(row.status)],
        create_time=timestamp_to_pb(row.created_at),
        update_time=timestamp_to_pb(row.updated_at),
        version=row.version,
        quantity_available=row.quantity_on_hand - row.quantity_reserved,
    )


def movement_to_pb(row: StockMovement) -> pb.StockMovement:
    return pb.StockMovement(
        id=str(row.id),
        item_id=str(row.item_id),
        movement_type=MOVEMENT_TYPE_TO_PB[domain.MovementType(row.movement_type)],
        quantity=row.quantity,
        previous_quantity=row.previous_quantity,
        new_quantity=row.new_quantity,
        reference=row.reference or "",
        reason=row.reason or "",
        moved_by=str_or_empty(row.moved_by),
        moved_at=timestamp_to_pb(row.moved_at),
    )


def reservation_to_pb(row: StockReservation) -> pb.StockReservation:
    return pb.StockReservation(
        id=str(row.id),
        item_id=str(row.item_id),
        quantity=row.quantity,
        order_id=str(row.order_id),
        customer_id=str_or_empty(row.customer_id),
        status=RESERVATION_STATUS_TO_PB[domain.ReservationStatus(row.status)],
        reserved_at=timestamp_to_pb(row.reserved_at),
        fulfilled_at=timestamp_to_pb(row.fulfilled_at),
        expires_at=timestamp_to_pb(row.expires_at),
    )


def valuation_to_pb(row: InventoryValuation) -> pb.InventoryValuation:
    return pb.InventoryValuation(
        id=str(row.id),
        snapshot_date=date_to_pb(row.snapshot_date),
        total_items=row.total_items,
        total_quantity=row.total_quantity,
        total_value=decimal_to_pb(row.total_value),
        by_category=[
            pb.CategoryValuation(
                category=c["category"],
                item_count=c["item_count"],
                total_quantity=c["total_quantity"],
                total_value=decimal_to_pb(Decimal(c["total_value"])),
            )
            for c in row.by_category or []
        ],
        create_time=timestamp_to_pb(row.created_at),
    )


# ---- events ------------------------------------------------------------------------------------


def item_created(row: InventoryItem) -> ev.InventoryItemCreated:
    return ev.InventoryItemCreated(
        item_id=str(row.id),
        sku=row.sku,
        name=row.name,
        category=row.category,
        quantity_on_hand=row.quantity_on_hand,
        reorder_point=row.reorder_point,
        reorder_quantity=row.reorder_quantity,
        unit_cost=decimal_to_pb(row.unit_cost),
        unit_price=decimal_to_pb(row.unit_price),
        preferred_vendor_id=str_or_empty(row.preferred_vendor_id),
        status=ITEM_STATUS_TO_PB[domain.ItemStatus(row.status)],
        version=row.version,
    )


def item_updated(row: InventoryItem, changed: list[str]) -> ev.InventoryItemUpdated:
    """Only the changed values are set."""
    msg = ev.InventoryItemUpdated(item_id=str(row.id), sku=row.sku, changed_fields=sorted(changed), version=row.version)
    for name in ("name", "description", "category", "warehouse_location"):
        if name in changed:
            setattr(msg, name, getattr(row, name) or "")
    for name in ("reorder_point", "reorder_quantity"):
        if name in changed:
            setattr(msg, name, getattr(row, name))
    for name in ("unit_cost", "unit_price"):
        if name in changed:
            getattr(msg, name).CopyFrom(decimal_to_pb(getattr(row, name)))
    if "preferred_vendor_id" in changed:
        msg.preferred_vendor_id = str_or_empty(row.preferred_vendor_id)
    if "status" in changed:
        msg.status = ITEM_STATUS_TO_PB[domain.ItemStatus(row.status)]
    return msg


def stock_moved(item: InventoryItem, row: StockMovement) -> ev.StockMoved:
    return ev.StockMoved(
        movement_id=str(row.id),
        item_id=str(item.id),
        sku=item.sku,
        movement_type=MOVEMENT_TYPE_TO_PB[domain.MovementType(row.movement_type)],
        quantity=row.quantity,
        previous_quantity=row.previous_quantity,
        new_quantity=row.new_quantity,
        reference=row.reference or "",
        moved_at=timestamp_to_pb(row.moved_at),
        version=item.version,
    )


def stock_level_changed(item: InventoryItem) -> ev.StockLevelChanged:
    return ev.StockLevelChanged(
        sku=item.sku,
        item_id=str(item.id),
        quantity_on_hand=item.quantity_on_hand,
        quantity_reserved=item.quantity_reserved,
        quantity_available=item.quantity_on_hand - item.quantity_reserved,
        quantity_on_order=item.quantity_on_order,
        version=item.version,
    )


def reorder_point_reached(item: InventoryItem) -> ev.ReorderPointReached:
    return ev.ReorderPointReached(
        sku=item.sku,
        item_id=str(item.id),
        quantity_available=item.quantity_on_hand - item.quantity_reserved,
        quantity_on_order=item.quantity_on_order,
        reorder_point=item.reorder_point,
        reorder_quantity=item.reorder_quantity,
        preferred_vendor_id=str_or_empty(item.preferred_vendor_id),
        unit_cost=decimal_to_pb(item.unit_cost),
    )


def stock_adjusted(item: InventoryItem, movement: StockMovement) -> ev.StockAdjusted:
    return ev.StockAdjusted(
        movement_id=str(movement.id),
        item_id=str(item.id),
        sku=item.sku,
        movement_type=MOVEMENT_TYPE_TO_PB[domain.MovementType(movement.movement_type)],
        quantity=movement.quantity,
        unit_cost=decimal_to_pb(item.unit_cost),
        value=decimal_to_pb(domain.stock_value(movement.quantity, item.unit_cost)),
        reason=movement.reason or "",
        reference=movement.reference or "",
        adjusted_at=timestamp_to_pb(movement.moved_at),
        version=item.version,
    )


def stock_reserved(item: InventoryItem, r: StockReservation) -> ev.StockReserved:
    return ev.StockReserved(
        reservation_id=str(r.id),
        item_id=str(item.id),
        sku=item.sku,
        quantity=r.quantity,
        order_id=str(r.order_id),
        customer_id=str_or_empty(r.customer_id),
        expires_at=timestamp_to_pb(r.expires_at),
        quantity_available=item.quantity_on_hand - item.quantity_reserved,
    )


def reservation_released(item: InventoryItem, r: StockReservation, reason: str) -> ev.ReservationReleased:
    return ev.ReservationReleased(
        reservation_id=str(r.id),
        item_id=str(item.id),
        sku=item.sku,
        quantity=r.quantity,
        order_id=str(r.order_id),
        reason=reason,
        quantity_available=item.quantity_on_hand - item.quantity_reserved,
    )


def reservation_expired(item: InventoryItem, r: StockReservation) -> ev.ReservationExpired:
    return ev.ReservationExpired(
        reservation_id=str(r.id),
        item_id=str(item.id),
        sku=item.sku,
        quantity=r.quantity,
        order_id=str(r.order_id),
        expires_at=timestamp_to_pb(r.expires_at),
        quantity_available=item.quantity_on_hand - item.quantity_reserved,
    )


def reservation_fulfilled(item: InventoryItem, r: StockReservation, at: datetime) -> ev.ReservationFulfilled:
    return ev.ReservationFulfilled(
        reservation_id=str(r.id),
        item_id=str(item.id),
        sku=item.sku,
        quantity=r.quantity,
        order_id=str(r.order_id),
        customer_id=str_or_empty(r.customer_id),
        unit_cost=decimal_to_pb(item.unit_cost),
        total_cost=decimal_to_pb(domain.stock_value(r.quantity, item.unit_cost)),
        fulfilled_at=timestamp_to_pb(at),
    )
