"""Stock changes inside a unit of work, shared by the API, the event handlers and the jobs.

Every change of an item's quantities goes through `change_stock` (new levels checked by
`domain.Levels`, a new item version, one movement when quantity on hand changes, `StockMoved`)
and ends with `levels_changed` (`StockLevelChanged`, then `ReorderPointReached` on a crossing).
Items are locked FOR UPDATE, several at once always in id order, so concurrent units of work
serialize per item (no oversold reservation) and never deadlock on each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.inventory import domain, mapping
from services.inventory.tables import InventoryItem, StockMovement
from services.runtime.db import UnitOfWork
from services.runtime.errors import NotFound

ITEM = "inventory item"


@dataclass(frozen=True)
class MovementSpec:
    """Why on-hand stock moves: the movement's type, source document, reason and author."""

    movement_type: domain.MovementType
    reference: str | None = None
    reason: str | None = None
    moved_by: uuid.UUID | None = None


async def lock_items(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, InventoryItem]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    stmt = select(InventoryItem).where(InventoryItem.id.in_(wanted)).order_by(InventoryItem.id).with_for_update()
    return {row.id: row for row in (await session.execute(stmt)).scalars()}


async def lock_items_by_sku(session: AsyncSession, skus: Iterable[str]) -> dict[str, InventoryItem]:
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    stmt = select(InventoryItem).where(InventoryItem.sku.in_(wanted)).order_by(InventoryItem.id).with_for_update()
    return {row.sku: row for row in (await session.execute(stmt)).scalars()}


async def lock_item(session: AsyncSession, key: uuid.UUID) -> InventoryItem:
    item = (await lock_items(session, [key])).get(key)
    if item is None:
        raise NotFound(ITEM, str(key))
    return item


async def lock_item_by_sku(session: AsyncSession, sku: str) -> InventoryItem:
    item = (await lock_items_by_sku(session, [sku])).get(sku)
    if item is None:
        raise NotFound(ITEM, sku)
    return item


def write_movement(
    uow: UnitOfWork, item: InventoryItem, spec: MovementSpec, previous: int, new: int, now: datetime
) -> StockMovement:
    """The movement row for an on-hand change already applied to `item`, and its StockMoved."""
    movement = StockMovement(
        id=uuid.uuid4(),
        item_id=item.id,
        movement_type=spec.movement_type.value,
        quantity=new - previous,
        previous_quantity=previous,
        new_quantity=new,
        reference=spec.reference,
        reason=spec.reason,
        moved_by=spec.moved_by,
        moved_at=now,
    )
    uow.session.add(movement)
    uow.record(
        mapping.stock_moved(item, movement),
        aggregate_type=mapping.ITEM_AGGREGATE,
        aggregate_id=item.id,
        version=item.version,
    )
    return movement


def change_stock(
    uow: UnitOfWork,
    item: InventoryItem,
    now: datetime,
    *,
    on_hand: int = 0,
    reserved: int = 0,
    on_order: int = 0,
    movement: MovementSpec | None = None,
) -> StockMovement | None:
    """Apply signed deltas to a locked item (FailedPrecondition when a level would break a rule).
    A change of quantity on hand needs `movement` and writes exactly one movement."""
    before = mapping.levels_of(item)
    after = before.change(on_hand=on_hand, reserved=reserved, on_order=on_order)
    item.quantity_on_hand = after.on_hand
    item.quantity_reserved = after.reserved
    item.quantity_on_order = after.on_order
    item.version += 1
    item.updated_at = now
    if on_hand == 0:
        return None
    if movement is None or movement.movement_type not in domain.ON_HAND_TYPES:
        raise ValueError("a change of quantity on hand needs an on-hand movement")
    return write_movement(uow, item, movement, before.on_hand, after.on_hand, now)


def levels_changed(uow: UnitOfWork, item: InventoryItem) -> None:
    """StockLevelChanged with the item's levels, then the reorder check."""
    uow.record(
        mapping.stock_level_changed(item),
        aggregate_type=mapping.ITEM_AGGREGATE,
        aggregate_id=item.id,
        version=item.version,
    )
    check_reorder(uow, item)


def check_reorder(uow: UnitOfWork, item: InventoryItem) -> None:
    """Record ReorderPointReached once per crossing of the reorder point (see domain)."""
    available = item.quantity_on_hand - item.quantity_reserved
    decision = domain.reorder_signal(available, item.reorder_point, item.reorder_triggered, item.status)
    item.reorder_triggered = decision.triggered
    if decision.emit:
        uow.record(
            mapping.reorder_point_reached(item),
            aggregate_type=mapping.ITEM_AGGREGATE,
            aggregate_id=item.id,
            version=item.version,
        )
