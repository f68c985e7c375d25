"""Creating a purchase order inside a unit of work: shared by CreatePurchaseOrder and the
reorder consumer, so both number, price and announce an order the same way."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.procurement import domain, mapping, store
from services.procurement.pricing import LineInput, line_amount, order_totals
from services.procurement.tables import PurchaseOrder, PurchaseOrderItem, Vendor
from services.runtime.db import UnitOfWork
from services.runtime.errors import InvalidArgument


@dataclass(frozen=True)
class OrderDraft:
    """A validated order to create (validation happens before the unit of work)."""

    vendor_id: uuid.UUID
    order_date: date
    expected_delivery_date: date | None
    tax_amount: Decimal
    shipping_cost: Decimal
    notes: str | None
    requesting_department: str | None
    lines: Sequence[LineInput]
    created_by: uuid.UUID | None
    auto_reorder_sku: str | None = None


async def vendor_for_order(session: AsyncSession, vendor_id: uuid.UUID, field: str = "vendor_id") -> Vendor:
    """The vendor an order goes to: it must exist (INVALID_ARGUMENT) and be active (FAILED_PRECONDITION)."""
    vendor = await session.get(Vendor, vendor_id)
    if vendor is None:
        raise InvalidArgument.field(field, "does not name an existing vendor")
    domain.ensure_vendor_takes_orders(vendor.status)
    return vendor


def new_items(order_id: uuid.UUID, lines: Sequence[LineInput], now: datetime) -> list[PurchaseOrderItem]:
    return [
        PurchaseOrderItem(
            id=uuid.uuid4(),
            purchase_order_id=order_id,
            line_number=n,
            sku=line.sku.strip(),
            description=line.description.strip(),
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line_amount(line.quantity, line.unit_price),
            quantity_received=0,
            quantity_rejected=0,
            created_at=now,
        )
        for n, line in enumerate(lines, start=1)
    ]


async def create_order(
    uow: UnitOfWork, draft: OrderDraft, now: datetime
) -> tuple[PurchaseOrder, list[PurchaseOrderItem]]:
    """Insert a PENDING order with its items, numbered gap-free, and record PurchaseOrderCreated."""
    await vendor_for_order(uow.session, draft.vendor_id)
    totals = order_totals(draft.lines, draft.tax_amount, draft.shipping_cost)
    number = await store.next_po_number(uow.session, draft.order_date.year)
    order = PurchaseOrder(
        id=uuid.uuid4(),
        po_number=number,
        vendor_id=draft.vendor_id,
        order_date=draft.order_date,
        expected_delivery_date=draft.expected_delivery_date,
        subtotal=totals.subtotal,
        tax_amount=totals.tax_amount,
        shipping_cost=totals.shipping_cost,
        total_amount=totals.total_amount,
        status=domain.OrderStatus.PENDING.value,
        created_by=draft.created_by,
        requesting_department=draft.requesting_department,
        notes=draft.notes,
        auto_reorder_sku=draft.auto_reorder_sku,
        created_at=now,
        updated_at=now,
        version=1,
    )
    uow.session.add(order)
    await uow.session.flush()
    items = new_items(order.id, draft.lines, now)
    uow.session.add_all(items)
    await uow.session.flush()
    uow.record(mapping.order_created(order, items), aggregate_type="PurchaseOrder", aggregate_id=order.id, version=1)
    return order, items
