"""Supply chain rules as plain Python: shipment fields, the lifecycle, carrier updates. No I/O.

Carrier metrics (on time, delivery days, running averages) are in `performance.py`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from services.runtime import sequences
from services.runtime.errors import FailedPrecondition, InvalidArgument, Validator

ADDRESS_LIMITS = {
    "origin_address": 255,
    "origin_city": 100,
    "origin_state": 50,
    "origin_zip_code": 20,
    "destination_address": 255,
    "destination_city": 100,
    "destination_state": 50,
    "destination_zip_code": 20,
}
TEXT_LIMITS = {"carrier": 100, "tracking_number": 100, **ADDRESS_LIMITS}
UPDATABLE_FIELDS = frozenset({*TEXT_LIMITS, "estimated_delivery_date"})
# What may still change once the carrier has the shipment.
UPDATABLE_IN_TRANSIT = frozenset({"estimated_delivery_date"})
MAX_ITEMS = 1000
MAX_SKU = 50
MAX_DESCRIPTION = 10_000
MAX_WEIGHT = Decimal("99999999.99")  # NUMERIC(10, 2)
MAX_LOCATION = 200
MAX_DELIVERED_TO = 200
MAX_NOTES = 10_000
# Clocks disagree a little: an event time up to this far ahead of ours is accepted.
CLOCK_SKEW = timedelta(minutes=5)
SHIPMENT_PREFIX = "SH"


class ShipmentType(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Status(StrEnum):
    PENDING = "pending"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"
    LOST = "lost"


class Tracking(StrEnum):
    CREATED = "created"
    DISPATCHED = "dispatched"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERY_ATTEMPTED = "delivery_attempted"
    EXCEPTION = "exception"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"
    LOST = "lost"


# Forward only: cancelled, returned and lost are final; a delivered shipment can still come back.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.IN_TRANSIT, Status.CANCELLED}),
    Status.IN_TRANSIT: frozenset({Status.DELIVERED, Status.CANCELLED, Status.RETURNED, Status.LOST}),
    Status.DELIVERED: frozenset({Status.RETURNED}),
    Status.CANCELLED: frozenset(),
    Status.RETURNED: frozenset(),
    Status.LOST: frozenset(),
}
VERBS = {
    Status.IN_TRANSIT: "dispatch",
    Status.DELIVERED: "deliver",
    Status.CANCELLED: "cancel",
    Status.RETURNED: "mark as returned",
    Status.LOST: "mark as lost",
}
# The tracking history entry every status change appends.
TRACKING_OF_STATUS = {
    Status.PENDING: Tracking.CREATED,
    Status.IN_TRANSIT: Tracking.DISPATCHED,
    Status.DELIVERED: Tracking.DELIVERED,
    Status.CANCELLED: Tracking.CANCELLED,
    Status.RETURNED: Tracking.RETURNED,
    Status.LOST: Tracking.LOST,
}
# Carrier updates (RecordTrackingEvent): scans never change the status; these three may.
CARRIER_SCANS = frozenset(
    {Tracking.IN_TRANSIT, Tracking.OUT_FOR_DELIVERY, Tracking.DELIVERY_ATTEMPTED, Tracking.EXCEPTION}
)
CARRIER_STATUS_CHANGES = {
    Tracking.DELIVERED: Status.DELIVERED,
    Tracking.RETURNED: Status.RETURNED,
    Tracking.LOST: Status.LOST,
}
CARRIER_REPORTABLE = CARRIER_SCANS | frozenset(CARRIER_STATUS_CHANGES)


def shipment_number(year: int, n: int) -> str:
    return sequences.format_number(SHIPMENT_PREFIX, year, n)


def validate_texts(v: Validator, values: dict[str, Any], prefix: str = "") -> None:
    """Length limits of the text fields present in `values`; a carrier is required."""
    for name, limit in TEXT_LIMITS.items():
        if name in values:
            v.max_len(values[name], prefix + name, limit)
    if "carrier" in values:
        v.require(values["carrier"], prefix + "carrier")


def validate_item(v: Validator, sku: str, description: str, quantity: int, weight: Decimal | None, prefix: str) -> None:
    v.require(sku.strip(), prefix + "sku")
    v.max_len(sku, prefix + "sku", MAX_SKU)
    v.max_len(description, prefix + "description", MAX_DESCRIPTION)
    v.check(quantity > 0, prefix + "quantity", "must be greater than zero")
    if weight is not None:
        v.check(Decimal(0) <= weight <= MAX_WEIGHT, prefix + "weight", f"must be between 0 and {MAX_WEIGHT}")


def validate_items_count(v: Validator, count: int, field: str = "items") -> None:
    v.check(count > 0, field, "at least one item is required")
    v.check(count <= MAX_ITEMS, field, f"at most {MAX_ITEMS} items")


def check_not_future(v: Validator, at: datetime | None, now: datetime, field: str) -> None:
    v.check(at is None or at <= now + CLOCK_SKEW, field, "must not be in the future")


def ensure_transition(current: str, target: Status) -> None:
    status = Status(current)
    if target not in TRANSITIONS[status]:
        raise FailedPrecondition(f"cannot {VERBS[target]} a shipment that is {status.value}")


def ensure_updatable(current: str, paths: set[str]) -> None:
    status = Status(current)
    if status == Status.PENDING:
        return
    if status != Status.IN_TRANSIT:
        raise FailedPrecondition(f"a shipment that is {status.value} cannot be changed")
    locked = sorted(paths - UPDATABLE_IN_TRANSIT)
    if locked:
        raise FailedPrecondition(f"{', '.join(locked)} can only change while the shipment is pending")


def dispatch_tracking_number(current: str | None, given: str) -> str:
    """The tracking number a dispatch leaves on the shipment: the given one, else the current one."""
    if given:
        return given
    if not current:
        raise InvalidArgument.field("tracking_number", "is required: the shipment has none yet")
    return current


def check_estimate_after_dispatch(estimate: date | None, dispatched_at: datetime, field: str) -> None:
    if estimate is not None and estimate < utc_date(dispatched_at):
        raise InvalidArgument.field(field, "must not be before the dispatch date")


def check_delivered_after_dispatch(dispatched_at: datetime | None, delivered_at: datetime, field: str) -> None:
    if dispatched_at is not None and delivered_at < dispatched_at:
        raise InvalidArgument.field(field, "must not be before the dispatch time")


def ensure_with_carrier(dispatched_at: datetime | None) -> None:
    """Carrier updates are accepted once the carrier has had the shipment, whatever happened since."""
    if dispatched_at is None:
        raise FailedPrecondition("a shipment that was never dispatched has no carrier updates: dispatch it first")


def carrier_update_effect(current: str, status_since: datetime, reported: Tracking, at: datetime) -> Status | None:
    """The status a carrier update moves the shipment to; None when it only joins the history.

    Scans never change the status. A reported delivery, return or loss does when it is not older
    than the current status (updates arrive in any order: an older one never moves the status
    backwards) and the lifecycle allows the change (a lost shipment is not delivered later)."""
    target = CARRIER_STATUS_CHANGES.get(reported)
    if target is None or at < status_since:
        return None
    if target not in TRANSITIONS[Status(current)]:
        return None
    return target


def utc_date(at: datetime) -> date:
    """The calendar day of an instant, in UTC (the day deliveries and metrics are booked on)."""
    return at.astimezone(UTC).date() if at.tzinfo else at.date()
