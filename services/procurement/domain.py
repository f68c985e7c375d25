"""Procurement rules as plain Python: vendor fields, the purchase order lifecycle, approval. No I/O.

Money rules (line amounts, totals, what a receipt is worth) are in `pricing.py`, receipts in
`receiving.py`, vendor metrics in `performance.py`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from services.runtime.errors import FailedPrecondition, Validator

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_RATING = Decimal("5.00")
VENDOR_TEXT_LIMITS = {
    "name": 200,
    "email": 255,
    "phone": 20,
    "address": 255,
    "city": 100,
    "state": 50,
    "zip_code": 20,
    "country": 100,
    "payment_terms": 50,
    "tax_id": 50,
}
UPDATABLE_VENDOR_FIELDS = frozenset({*VENDOR_TEXT_LIMITS, "status", "rating"})

UPDATABLE_ORDER_FIELDS = frozenset(
    {
        "vendor_id",
        "order_date",
        "expected_delivery_date",
        "tax_amount",
        "shipping_cost",
        "notes",
        "requesting_department",
        "items",
    }
)
# What may still change once an order has left PENDING (until it is received or cancelled).
FIELDS_UPDATABLE_AFTER_APPROVAL = frozenset({"expected_delivery_date", "notes"})
MAX_NOTES = 10_000
MAX_DEPARTMENT = 100
MAX_REASON = 500
AUTO_REORDER_NOTE = "auto-reorder"


class VendorStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    SUSPENDED = "suspended"


class OrderStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    ORDERED = "ordered"
    PARTIALLY_RECEIVED = "partially_received"
    RECEIVED = "received"
    CANCELLED = "cancelled"


OPEN_STATUSES = frozenset(
    {OrderStatus.PENDING, OrderStatus.APPROVED, OrderStatus.ORDERED, OrderStatus.PARTIALLY_RECEIVED}
)
# The lifecycle only moves forward: pending -> approved -> ordered -> partially_received -> received,
# or to cancelled before anything was received.
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.APPROVED, OrderStatus.CANCELLED}),
    OrderStatus.APPROVED: frozenset({OrderStatus.ORDERED, OrderStatus.CANCELLED}),
    OrderStatus.ORDERED: frozenset({OrderStatus.PARTIALLY_RECEIVED, OrderStatus.RECEIVED, OrderStatus.CANCELLED}),
    OrderStatus.PARTIALLY_RECEIVED: frozenset({OrderStatus.PARTIALLY_RECEIVED, OrderStatus.RECEIVED}),
    OrderStatus.RECEIVED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


# ---- vendors -----------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    return email.strip().lower()


def validate_vendor_fields(v: Validator, values: dict[str, Any], prefix: str = "") -> None:
    """Checks every field present in `values` (a new vendor has them all).

    Values that failed to parse are None here and were already reported by their parser.
    """
    for name, limit in VENDOR_TEXT_LIMITS.items():
        if name in values:
            v.max_len(values[name], prefix + name, limit)
    if "name" in values:
        v.require((values["name"] or "").strip(), prefix + "name")
    if "email" in values:
        v.check(bool(EMAIL_RE.match(values["email"] or "")), prefix + "email", "must be an e-mail address")
    rating = values.get("rating")
    if rating is not None:
        v.check(Decimal(0) <= rating <= MAX_RATING, prefix + "rating", f"must be between 0.00 and {MAX_RATING}")


def ensure_vendor_takes_orders(status: str) -> None:
    """Suspended or inactive vendors cannot receive new orders."""
    if status != VendorStatus.ACTIVE:
        raise FailedPrecondition(f"the vendor is {status} and cannot receive new orders")


# ---- purchase order lifecycle ------------------------------------------------------------------


def ensure_transition(current: str, target: OrderStatus, verb: str) -> None:
    """A status change the lifecycle allows; anything else (backwards, from a final state) fails."""
    if target not in TRANSITIONS[OrderStatus(current)]:
        raise FailedPrecondition(f"cannot {verb} a purchase order that is {current}")


def ensure_can_cancel(current: str) -> None:
    """Only before any receipt: pending, approved or ordered."""
    if OrderStatus(current) in (OrderStatus.PARTIALLY_RECEIVED, OrderStatus.RECEIVED):
        raise FailedPrecondition("cannot cancel a purchase order that has received goods")
    ensure_transition(current, OrderStatus.CANCELLED, "cancel")


def ensure_can_update(current: str, fields: Iterable[str]) -> None:
    """PENDING orders change freely; later only the expected date and notes, until received."""
    status = OrderStatus(current)
    if status == OrderStatus.PENDING:
        return
    if status in OPEN_STATUSES and set(fields) <= FIELDS_UPDATABLE_AFTER_APPROVAL:
        return
    if status in OPEN_STATUSES:
        raise FailedPrecondition(f"a purchase order that is {status} can only change expected_delivery_date and notes")
    raise FailedPrecondition(f"a purchase order that is {status} cannot be changed")


def ensure_approver(
    total: Decimal, threshold: Decimal, created_by: uuid.UUID | None, approver: uuid.UUID | None
) -> None:
    """Separation of duties: above the threshold, an identified user other than the creator approves.

    At or below it anyone may approve, the creator included. Orders created by the system
    (created_by empty, e.g. auto-reorders) may be approved by any identified user.
    """
    if total <= threshold:
        return
    if approver is None:
        raise FailedPrecondition(
            f"separation of duties: orders above {threshold} must be approved by an identified user "
            "(x-erp-user-id) other than their creator"
        )
    if created_by is not None and approver == created_by:
        raise FailedPrecondition(f"separation of duties: the creator of an order above {threshold} cannot approve it")


def check_dates(v: Validator, order_date: date | None, expected: date | None, field: str) -> None:
    if order_date is not None and expected is not None:
        v.check(expected >= order_date, field, "must be on or after the order date")


def validate_order_text(v: Validator, notes: str | None, department: str | None, prefix: str = "") -> None:
    v.max_len(notes, prefix + "notes", MAX_NOTES)
    v.max_len(department, prefix + "requesting_department", MAX_DEPARTMENT)


def cancellation_notes(notes: str | None, reason: str) -> str:
    """The reason is kept with the order (visible through the API), after any existing notes."""
    line = f"Cancelled: {reason}"
    return f"{notes}\n{line}" if notes else line
