"""Status changes of a shipment inside a unit of work, shared by the lifecycle RPCs and by carrier
updates that report a delivery, a return or a loss.

`change_status` applies one allowed change to a locked shipment: the status and the time it
began, the fields of the new status, one tracking entry (unless the carrier's update is that
entry), the carrier's daily metrics on delivery (same transaction), a new version and the event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from google.protobuf.message import Message

from services.runtime.db import UnitOfWork
from services.supply_chain import domain, mapping, performance, store
from services.supply_chain.domain import Status
from services.supply_chain.tables import Shipment, ShipmentItem


@dataclass(frozen=True)
class Change:
    """A status change: where it goes, when it happened, what the history and the event say."""

    target: Status
    at: datetime
    location: str | None = None
    notes: str | None = None
    delivered_to: str | None = None


async def change_status(
    uow: UnitOfWork, row: Shipment, change: Change, now: datetime, *, add_tracking: bool = True
) -> list[ShipmentItem]:
    """Apply `change` to the locked `row` (FAILED_PRECONDITION when the lifecycle forbids it)."""
    domain.ensure_transition(row.status, change.target)
    previous = Status(row.status)
    # Every field first: the queries below autoflush the row, and the database checks it.
    delivery = None
    if change.target == Status.IN_TRANSIT:
        row.dispatched_at = change.at
    elif change.target == Status.DELIVERED:
        assert row.dispatched_at is not None  # in transit, hence dispatched (a database check)
        delivery = performance.delivery(row.dispatched_at, change.at, row.estimated_delivery_date)
        row.delivered_at = change.at
        row.actual_delivery_date = delivery.actual_delivery_date
        row.delivered_to = change.delivered_to
    row.status = change.target.value
    row.status_changed_at = change.at
    row.version += 1
    row.updated_at = now
    items = (await store.items_of(uow.session, [row.id]))[row.id]
    if add_tracking:
        await store.add_tracking(
            uow.session,
            row.id,
            domain.TRACKING_OF_STATUS[change.target],
            change.at,
            now,
            location=change.location,
            notes=change.notes,
        )
    message: Message
    if change.target == Status.IN_TRANSIT:
        message = mapping.shipment_dispatched(row, items)
    elif delivery is not None:
        await store.add_delivery(uow.session, row.carrier, delivery)
        message = mapping.shipment_delivered(row, items, delivery.on_time is True)
    elif change.target == Status.CANCELLED:
        message = mapping.shipment_cancelled(row, items, change.notes or "")
    elif change.target == Status.RETURNED:
        message = mapping.shipment_returned(row, items, previous, change.notes or "")
    else:
        message = mapping.shipment_lost(row, items, change.notes or "")
    uow.record(message, aggregate_type=mapping.SHIPMENT_AGGREGATE, aggregate_id=row.id, version=row.version)
    return items
