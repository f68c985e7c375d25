"""Inventory rules as plain Python: stock levels, adjustments, reservations, moving-average cost
and the reorder signal. No I/O.

Decisions (see also docs in the report):
- Only movements of the on-hand types (receipt, adjustment, fulfillment, damage, theft) are ever
  written, so quantity_on_hand == the sum of an item's movement quantities. Reservations do not
  write `reservation` movements: stock_reservations is their ledger (quantity_reserved == the sum
  of the item's ACTIVE reservations).
- Moving average unit cost: (on_hand x old_cost + received x receipt_cost) / (on_hand + received),
  rounded half-up to cents once, on the final quotient; with nothing on hand it is the receipt cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from services.runtime.errors import FailedPrecondition, Validator

CENT = Decimal("0.01")
MAX_MONEY = Decimal("99999999.99")  # NUMERIC(10, 2)
MAX_QUANTITY = 2**31 - 1  # INTEGER / int32


class ItemStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    DISCONTINUED = "discontinued"


class MovementType(StrEnum):
    RECEIPT = "receipt"
    ADJUSTMENT = "adjustment"
    RESERVATION = "reservation"
    FULFILLMENT = "fulfillment"
    DAMAGE = "damage"
    THEFT = "theft"


class ReservationStatus(StrEnum):
    ACTIVE = "active"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


# Movement types that change quantity_on_hand (every movement this service writes is one of them).
ON_HAND_TYPES = frozenset(
    {MovementType.RECEIPT, MovementType.ADJUSTMENT, MovementType.FULFILLMENT, MovementType.DAMAGE, MovementType.THEFT}
)
# What AdjustStock accepts; DAMAGE and THEFT only remove stock.
ADJUSTMENT_TYPES = frozenset({MovementType.ADJUSTMENT, MovementType.DAMAGE, MovementType.THEFT})
WRITE_OFF_TYPES = frozenset({MovementType.DAMAGE, MovementType.THEFT})

UPDATABLE_ITEM_FIELDS = frozenset(
    {
        "name",
        "description",
        "category",
        "reorder_point",
        "reorder_quantity",
        "unit_cost",
        "unit_price",
        "warehouse_location",
        "preferred_vendor_id",
        "status",
    }
)


@dataclass(frozen=True)
class Levels:
    """An item's quantities; every instance satisfies the table's CHECK constraints."""

    on_hand: int
    reserved: int
    on_order: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def change(self, *, on_hand: int = 0, reserved: int = 0, on_order: int = 0) -> Levels:
        new = Levels(self.on_hand + on_hand, self.reserved + reserved, self.on_order + on_order)
        if max(new.on_hand, new.reserved, new.on_order) > MAX_QUANTITY:
            raise FailedPrecondition("the quantity would exceed the largest storable quantity")
        if new.on_hand < 0:
            raise FailedPrecondition(f"only {self.on_hand} units are on hand")
        if new.reserved < 0 or new.on_order < 0:
            raise FailedPrecondition("a quantity would become negative")
        if new.reserved > new.on_hand:
            raise FailedPrecondition(
                f"{self.reserved} units are reserved and {self.available} available: "
                "release reservations before removing reserved stock"
            )
        return new


def validate_item_fields(v: Validator, values: dict[str, Any], prefix: str = "") -> None:
    """Checks every field present in `values` (a new item has them all); unparsable values are
    None here and were already reported by their parser."""
    for name, limit in (("sku", 50), ("name", 200), ("category", 100)):
        if name in values:
            v.require((values[name] or "").strip(), prefix + name)
            v.max_len(values[name], prefix + name, limit)
    if "description" in values:
        v.max_len(values["description"], prefix + "description", 10_000)
    if "warehouse_location" in values:
        v.max_len(values["warehouse_location"], prefix + "warehouse_location", 50)
    if "quantity_on_hand" in values:
        v.check(values["quantity_on_hand"] >= 0, prefix + "quantity_on_hand", "must not be negative")
    if "reorder_point" in values:
        v.check(values["reorder_point"] >= 0, prefix + "reorder_point", "must not be negative")
    if "reorder_quantity" in values:
        v.check(values["reorder_quantity"] > 0, prefix + "reorder_quantity", "must be greater than zero")
    for name in ("unit_cost", "unit_price"):
        amount = values.get(name)
        if amount is not None:
            v.check(amount >= 0, prefix + name, "must not be negative")
            v.check(amount <= MAX_MONEY, prefix + name, f"must be at most {MAX_MONEY}")


def validate_adjustment(v: Validator, movement_type: MovementType | None, quantity: int, reason: str) -> None:
    v.check(movement_type in ADJUSTMENT_TYPES, "movement_type", "must be ADJUSTMENT, DAMAGE or THEFT")
    v.check(quantity != 0, "quantity", "must not be zero")
    if movement_type in WRITE_OFF_TYPES:
        v.check(quantity < 0, "quantity", f"must be negative for {movement_type.upper()}")
    v.require(reason.strip(), "reason")
    v.max_len(reason, "reason", 10_000)


def ensure_can_reserve(status: str, levels: Levels, quantity: int) -> None:
    if status == ItemStatus.INACTIVE:
        raise FailedPrecondition("an inactive item cannot be reserved")
    if quantity > levels.available:
        raise FailedPrecondition(f"only {levels.available} units are available, {quantity} requested")


def ensure_active(reservation_status: str, verb: str) -> None:
    if reservation_status != ReservationStatus.ACTIVE:
        raise FailedPrecondition(f"only an active reservation can be {verb} (it is {reservation_status})")


def moving_average_cost(on_hand: int, old_cost: Decimal, received: int, receipt_cost: Decimal) -> Decimal:
    """The unit cost after receiving `received` units at `receipt_cost` (half-up to cents)."""
    if received <= 0:
        raise ValueError("a receipt brings a positive quantity")
    if on_hand <= 0:
        return receipt_cost.quantize(CENT, rounding=ROUND_HALF_UP)
    total = on_hand * old_cost + received * receipt_cost
    return (total / (on_hand + received)).quantize(CENT, rounding=ROUND_HALF_UP)


def stock_value(quantity: int, unit_cost: Decimal) -> Decimal:
    """Signed value of `quantity` units at `unit_cost` (exact: cents times an integer)."""
    return (quantity * unit_cost).quantize(CENT, rounding=ROUND_HALF_UP)


def less_on_order(on_order: int, quantity: int) -> int:
    """quantity_on_order after `quantity` units stopped being expected (never below zero)."""
    return max(on_order - max(quantity, 0), 0)


@dataclass(frozen=True)
class ReorderDecision:
    emit: bool
    triggered: bool


def reorder_signal(available: int, reorder_point: int, triggered: bool, status: str) -> ReorderDecision:
    """ReorderPointReached fires once per crossing: when the item is at or below its reorder point
    and the current stretch there has not been signalled. Rising above the point clears the flag.
    Only active items are signalled (a discontinued item is never reordered, an inactive one not
    now); a crossing while not active still counts as the stretch's crossing."""
    if available > reorder_point:
        return ReorderDecision(emit=False, triggered=False)
    if triggered:
        return ReorderDecision(emit=False, triggered=True)
    return ReorderDecision(emit=status == ItemStatus.ACTIVE, triggered=True)


def initial_reorder_flag(available: int, reorder_point: int) -> bool:
    """A new item starting at or below its point saw no crossing: it counts as signalled."""
    return available <= reorder_point


@dataclass(frozen=True)
class CategoryTotals:
    category: str
    item_count: int
    total_quantity: int
    total_value: Decimal


@dataclass(frozen=True)
class Valuation:
    total_items: int
    total_quantity: int
    total_value: Decimal
    by_category: list[dict[str, Any]]


def summarize_valuation(categories: list[CategoryTotals]) -> Valuation:
    """Totals over the categories; by_category as JSON-ready dicts (values as decimal strings),
    ordered by category."""
    ordered = sorted(categories, key=lambda c: c.category)
    return Valuation(
        total_items=sum(c.item_count for c in ordered),
        total_quantity=sum(c.total_quantity for c in ordered),
        total_value=sum((c.total_value for c in ordered), Decimal("0.00")).quantize(CENT),
        by_category=[
            {
                "category": c.category,
                "item_count": c.item_count,
                "total_quantity": c.total_quantity,
                "total_value": format(c.total_value.quantize(CENT), "f"),
            }
            for c in ordered
        ],
    )
