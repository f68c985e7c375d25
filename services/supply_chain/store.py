"""supply_chain_db access that is this service's own (the generic parts are in runtime.repository):
gap-free shipment numbers, items of shipments, tracking entries without duplicates, carrier
metric upserts and the carrier summary's counts."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.runtime import sequences
from services.runtime.errors import AlreadyExists
from services.supply_chain import domain, mapping, performance
from services.supply_chain.tables import (
    CarrierPerformance,
    Shipment,
    ShipmentItem,
    ShipmentNumberSequence,
    TrackingEvent,
)

TRACKING_NUMBER_TAKEN = "a shipment with this tracking number already exists"
UNIQUE_MESSAGES = {
    "uq_shipments_tracking_number": TRACKING_NUMBER_TAKEN,
    "uq_shipments_shipment_number": "a shipment with this number already exists",
}


async def next_shipment_number(session: AsyncSession, year: int) -> str:
    """The year's next number, gap-free (see runtime.sequences)."""
    return await sequences.next_number(session, ShipmentNumberSequence, year, domain.SHIPMENT_PREFIX)


async def ensure_tracking_number_free(session: AsyncSession, number: str | None, owner: uuid.UUID | None) -> None:
    """ALREADY_EXISTS when another shipment has the number (the unique constraint backs this up)."""
    if not number:
        return
    stmt = select(Shipment.id).where(Shipment.tracking_number == number)
    if owner is not None:
        stmt = stmt.where(Shipment.id != owner)
    if (await session.execute(stmt.limit(1))).first() is not None:
        raise AlreadyExists(TRACKING_NUMBER_TAKEN)


async def items_of(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[ShipmentItem]]:
    """Every shipment's items (one query for any number of shipments), in creation order."""
    out: dict[uuid.UUID, list[ShipmentItem]] = defaultdict(list)
    if not ids:
        return out
    rows = await session.execute(
        select(ShipmentItem)
        .where(ShipmentItem.shipment_id.in_(set(ids)))
        .order_by(ShipmentItem.shipment_id, ShipmentItem.created_at, ShipmentItem.sku, ShipmentItem.id)
    )
    for item in rows.scalars():
        out[item.shipment_id].append(item)
    return out


async def add_tracking(
    session: AsyncSession,
    shipment_id: uuid.UUID,
    status: domain.Tracking,
    at: datetime,
    now: datetime,
    *,
    location: str | None = None,
    notes: str | None = None,
) -> tuple[TrackingEvent, bool]:
    """Append a tracking entry; (the entry, True), or (the stored one, False) when an entry with
    the same shipment, status, time and location exists already (a duplicated carrier update)."""
    new_id = uuid.uuid4()
    inserted = (
        await session.execute(
            pg_insert(TrackingEvent)
            .values(
                id=new_id,
                shipment_id=shipment_id,
                status=status.value,
                location=location,
                notes=notes,
                event_time=at,
                created_at=now,
            )
            .on_conflict_do_nothing()
            .returning(TrackingEvent.id)
        )
    ).first()
    stmt = select(TrackingEvent).where(
        TrackingEvent.shipment_id == shipment_id,
        TrackingEvent.status == status.value,
        TrackingEvent.event_time == at,
        TrackingEvent.location.is_not_distinct_from(location),
    )
    row = (await session.execute(stmt)).scalar_one()
    return row, inserted is not None


async def add_delivery(session: AsyncSession, carrier: str, d: performance.Delivery) -> None:
    """Book a delivery on the carrier's row for the delivery day (created when missing, then
    locked and updated in the delivery's transaction)."""
    await session.execute(
        pg_insert(CarrierPerformance)
        .values(id=uuid.uuid4(), carrier=carrier, metric_date=d.actual_delivery_date)
        .on_conflict_do_nothing(index_elements=["carrier", "metric_date"])
    )
    row = (
        await session.execute(
            select(CarrierPerformance)
            .where(CarrierPerformance.carrier == carrier, CarrierPerformance.metric_date == d.actual_delivery_date)
            .with_for_update()
        )
    ).scalar_one()
    new = performance.add(mapping.metrics_of(row), d)
    row.total_shipments = new.total_shipments
    row.on_time_deliveries = new.on_time_deliveries
    row.late_deliveries = new.late_deliveries
    row.average_delivery_days = new.average_delivery_days


async def carrier_days(session: AsyncSession, carrier: str, start: date, end: date) -> list[CarrierPerformance]:
    stmt = (
        select(CarrierPerformance)
        .where(
            CarrierPerformance.carrier == carrier,
            CarrierPerformance.metric_date >= start,
            CarrierPerformance.metric_date <= end,
        )
        .order_by(CarrierPerformance.metric_date)
    )
    return list((await session.execute(stmt)).scalars())


async def final_counts(session: AsyncSession, carrier: str, start: date, end: date) -> dict[str, int]:
    """Shipments of the carrier that became returned / lost during the range (UTC days)."""
    since = datetime.combine(start, time.min, tzinfo=UTC)
    until = (
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
        if end < date.max
        else datetime.max.replace(tzinfo=UTC)
    )
    rows = await session.execute(
        select(Shipment.status, func.count())
        .where(
            Shipment.carrier == carrier,
            Shipment.status.in_([domain.Status.RETURNED.value, domain.Status.LOST.value]),
            Shipment.status_changed_at >= since,
            Shipment.status_changed_at < until,
        )
        .group_by(Shipment.status)
    )
    return {status: int(n) for status, n in rows}
