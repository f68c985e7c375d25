"""Valuation snapshots: the stock's value (quantity on hand x unit cost) by category, stored in
inventory_valuations, on demand (CreateValuationSnapshot) and by the periodic job."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from services.inventory import domain
from services.inventory.tables import InventoryItem, InventoryValuation
from services.runtime.db import UnitOfWork


async def take_snapshot(uow: UnitOfWork, snapshot_date: date, now: datetime) -> InventoryValuation:
    """Value every item with stock on hand, as of now (one statement: a consistent view)."""
    on_hand = InventoryItem.quantity_on_hand
    stmt = (
        select(
            InventoryItem.category,
            func.count(),
            func.sum(on_hand),
            func.sum(on_hand * InventoryItem.unit_cost),
        )
        .where(on_hand > 0)
        .group_by(InventoryItem.category)
    )
    categories = [
        domain.CategoryTotals(category, int(count), int(quantity), Decimal(value))
        for category, count, quantity, value in (await uow.session.execute(stmt)).all()
    ]
    summary = domain.summarize_valuation(categories)
    row = InventoryValuation(
        id=uuid.uuid4(),
        snapshot_date=snapshot_date,
        total_items=summary.total_items,
        total_quantity=summary.total_quantity,
        total_value=summary.total_value,
        by_category=summary.by_category,
        created_at=now,
    )
    uow.session.add(row)
    return row


async def latest_created_at(uow: UnitOfWork) -> datetime | None:
    result = await uow.session.execute(select(func.max(InventoryValuation.created_at)))
    latest: datetime | None = result.scalar_one()
    return latest
