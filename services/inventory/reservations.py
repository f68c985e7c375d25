"""Reservation state changes inside a unit of work: release (cancel or expire) and fulfil.

Lock order is always item, then reservation (the same order ReserveStock takes), and the
reservation's status is re-read under its lock, so a reservation released, expired and fulfilled
concurrently ends in exactly one of those states.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from services.inventory import domain, mapping
from services.inventory.stock import ITEM, MovementSpec, change_stock, levels_changed, lock_item, lock_items
from services.inventory.tables import InventoryItem, StockMovement, StockReservation
from services.runtime.db import UnitOfWork
from services.runtime.errors import NotFound

RESERVATION = "reservation"


async def lock_reservation(uow: UnitOfWork, key: uuid.UUID) -> tuple[StockReservation, InventoryItem]:
    """The reservation and its item, both locked (item first)."""
    item_id = (
        await uow.session.execute(select(StockReservation.item_id).where(StockReservation.id == key))
    ).scalar_one_or_none()
    if item_id is None:
        raise NotFound(RESERVATION, str(key))
    item = await lock_item(uow.session, item_id)
    stmt = select(StockReservation).where(StockReservation.id == key).with_for_update()
    reservation = (await uow.session.execute(stmt)).scalar_one()
    return reservation, item


def release(
    uow: UnitOfWork,
    reservation: StockReservation,
    item: InventoryItem,
    now: datetime,
    *,
    status: domain.ReservationStatus,
    reason: str = "",
) -> None:
    """Give an active reservation's units back to available (CANCELLED or EXPIRED)."""
    domain.ensure_active(reservation.status, "released" if status == domain.ReservationStatus.CANCELLED else "expired")
    change_stock(uow, item, now, reserved=-reservation.quantity)
    reservation.status = status.value
    message = (
        mapping.reservation_released(item, reservation, reason)
        if status == domain.ReservationStatus.CANCELLED
        else mapping.reservation_expired(item, reservation)
    )
    uow.record(message, aggregate_type=mapping.RESERVATION_AGGREGATE, aggregate_id=reservation.id)
    levels_changed(uow, item)


def fulfil(
    uow: UnitOfWork, reservation: StockReservation, item: InventoryItem, now: datetime, moved_by: uuid.UUID | None
) -> StockMovement:
    """Ship an active reservation: on hand and reserved both fall by its quantity (one
    FULFILLMENT movement, reference = the order id) and ReservationFulfilled carries its cost."""
    domain.ensure_active(reservation.status, "fulfilled")
    spec = MovementSpec(
        domain.MovementType.FULFILLMENT,
        reference=str(reservation.order_id),
        reason=f"reservation {reservation.id}",
        moved_by=moved_by,
    )
    quantity = reservation.quantity
    movement = change_stock(uow, item, now, on_hand=-quantity, reserved=-quantity, movement=spec)
    assert movement is not None
    reservation.status = domain.ReservationStatus.FULFILLED.value
    reservation.fulfilled_at = now
    uow.record(
        mapping.reservation_fulfilled(item, reservation, now),
        aggregate_type=mapping.RESERVATION_AGGREGATE,
        aggregate_id=reservation.id,
    )
    levels_changed(uow, item)
    return movement


async def active_of_order(uow: UnitOfWork, order_id: uuid.UUID) -> list[StockReservation]:
    """The order's active reservations and their items, locked (items first, in id order)."""
    item_ids = (
        await uow.session.execute(
            select(StockReservation.item_id).where(
                StockReservation.order_id == order_id, StockReservation.status == domain.ReservationStatus.ACTIVE
            )
        )
    ).scalars()
    await lock_items(uow.session, item_ids)
    stmt = (
        select(StockReservation)
        .where(StockReservation.order_id == order_id, StockReservation.status == domain.ReservationStatus.ACTIVE)
        .order_by(StockReservation.reserved_at, StockReservation.id)
        .with_for_update()
    )
    return list((await uow.session.execute(stmt)).scalars())


async def order_has_fulfilled(uow: UnitOfWork, order_id: uuid.UUID) -> bool | None:
    """None: the order has no reservations at all; else whether any is fulfilled."""
    statuses = set(
        (await uow.session.execute(select(StockReservation.status).where(StockReservation.order_id == order_id)))
        .scalars()
        .all()
    )
    if not statuses:
        return None
    return domain.ReservationStatus.FULFILLED.value in statuses


async def item_for(uow: UnitOfWork, reservation: StockReservation) -> InventoryItem:
    """The reservation's item, locked (already locked by `active_of_order` in the usual case)."""
    return await lock_item(uow.session, reservation.item_id)


async def expire_due(
    uow: UnitOfWork, as_of: datetime, now: datetime, limit: int | None = None
) -> list[StockReservation]:
    """Expire active reservations whose expires_at is at or before `as_of` (oldest first)."""
    due = select(StockReservation.id, StockReservation.item_id).where(
        StockReservation.status == domain.ReservationStatus.ACTIVE,
        StockReservation.expires_at.is_not(None),
        StockReservation.expires_at <= as_of,
    )
    due = due.order_by(StockReservation.expires_at, StockReservation.id)
    if limit is not None:
        due = due.limit(limit)
    rows = (await uow.session.execute(due)).all()
    if not rows:
        return []
    items = await lock_items(uow.session, [r.item_id for r in rows])
    stmt = (
        select(StockReservation)
        .where(StockReservation.id.in_([r.id for r in rows]))
        .order_by(StockReservation.expires_at, StockReservation.id)
        .with_for_update()
    )
    expired = []
    for reservation in (await uow.session.execute(stmt)).scalars():
        if reservation.status != domain.ReservationStatus.ACTIVE:
            continue  # fulfilled or released meanwhile
        item = items.get(reservation.item_id)
        if item is None:
            raise NotFound(ITEM, str(reservation.item_id))
        release(uow, reservation, item, now, status=domain.ReservationStatus.EXPIRED)
        expired.append(reservation)
    return expired
