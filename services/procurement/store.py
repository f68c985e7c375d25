"""procurement_db access that is procurement's own (the generic parts are in runtime.repository):
items of orders, gap-free PO numbers, receipts so far, daily vendor metrics, auto-reorder lookups."""

from __future__ import annotations

import uuid
import zlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.procurement import performance
from services.procurement.domain import OPEN_STATUSES
from services.procurement.tables import (
    PoNumberSequence,
    PurchaseOrder,
    PurchaseOrderItem,
    PurchaseOrderReceipt,
    VendorPerformance,
)
from services.runtime import sequences

PO_PREFIX = "PO"


async def next_po_number(session: AsyncSession, year: int) -> str:
    """The year's next number, gap-free (see runtime.sequences)."""
    return await sequences.next_number(session, PoNumberSequence, year, PO_PREFIX)


async def items_of(session: AsyncSession, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[PurchaseOrderItem]]:
    """Every order's lines, in line order (one query for any number of orders)."""
    out: dict[uuid.UUID, list[PurchaseOrderItem]] = defaultdict(list)
    if not order_ids:
        return out
    rows = await session.execute(
        select(PurchaseOrderItem)
        .where(PurchaseOrderItem.purchase_order_id.in_(set(order_ids)))
        .order_by(PurchaseOrderItem.purchase_order_id, PurchaseOrderItem.line_number)
    )
    for item in rows.scalars():
        out[item.purchase_order_id].append(item)
    return out


@dataclass(frozen=True)
class ReceiptHistory:
    count: int
    first_date: date | None
    last_date: date | None


async def receipt_history(session: AsyncSession, order_id: uuid.UUID) -> ReceiptHistory:
    row = (
        await session.execute(
            select(
                func.count(PurchaseOrderReceipt.id),
                func.min(PurchaseOrderReceipt.receipt_date),
                func.max(PurchaseOrderReceipt.receipt_date),
            ).where(PurchaseOrderReceipt.purchase_order_id == order_id)
        )
    ).one()
    return ReceiptHistory(count=int(row[0]), first_date=row[1], last_date=row[2])


async def add_performance(session: AsyncSession, vendor_id: uuid.UUID, deltas: dict[date, performance.Delta]) -> None:
    """Upsert the vendor's daily rows: create when missing, then lock and update each one.

    Days are locked in date order, so concurrent receipts of one vendor never deadlock."""
    for day in sorted(deltas):
        await session.execute(
            pg_insert(VendorPerformance)
            .values(id=uuid.uuid4(), vendor_id=vendor_id, metric_date=day)
            .on_conflict_do_nothing(index_elements=["vendor_id", "metric_date"])
        )
        row = (
            await session.execute(
                select(VendorPerformance)
                .where(VendorPerformance.vendor_id == vendor_id, VendorPerformance.metric_date == day)
                .with_for_update()
            )
        ).scalar_one()
        new = performance.apply(
            performance.Metrics(
                total_orders=row.total_orders,
                on_time_deliveries=row.on_time_deliveries,
                late_deliveries=row.late_deliveries,
                quality_issues=row.quality_issues,
                average_delivery_days=row.average_delivery_days,
            ),
            deltas[day],
        )
        row.total_orders = new.total_orders
        row.on_time_deliveries = new.on_time_deliveries
        row.late_deliveries = new.late_deliveries
        row.quality_issues = new.quality_issues
        row.average_delivery_days = new.average_delivery_days
    await session.flush()


async def lock_auto_reorder(session: AsyncSession, sku: str) -> None:
    """Serialize auto-reorders of one SKU (transaction-scoped advisory lock)."""
    key = zlib.crc32(f"erp-procurement-auto-reorder:{sku}".encode())
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


async def open_auto_reorder(session: AsyncSession, sku: str) -> PurchaseOrder | None:
    stmt = select(PurchaseOrder).where(
        PurchaseOrder.auto_reorder_sku == sku, PurchaseOrder.status.in_([s.value for s in OPEN_STATUSES])
    )
    return (await session.execute(stmt.limit(1))).scalar_one_or_none()
