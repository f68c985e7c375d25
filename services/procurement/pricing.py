"""Purchase order money as plain Python: line amounts, order totals, the value of a receipt. No I/O.

amount = quantity x unit price (half-up to cents), subtotal = sum of amounts,
total = subtotal + tax + shipping. Limits are the columns' (NUMERIC(10, 2) / NUMERIC(12, 2)),
so an order that would not fit is bad input, never a database error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from services.runtime.errors import Validator

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_UNIT_PRICE = Decimal("99999999.99")  # NUMERIC(10, 2)
MAX_SHIPPING = Decimal("99999999.99")  # NUMERIC(10, 2)
MAX_AMOUNT = Decimal("9999999999.99")  # NUMERIC(12, 2): line amounts, subtotal, tax, total
MAX_ITEMS = 500
MAX_QUANTITY = 1_000_000_000
MAX_SKU = 50
MAX_DESCRIPTION = 2000


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineInput:
    """One line to create: what, how many, at what price."""

    sku: str
    description: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    tax_amount: Decimal
    shipping_cost: Decimal
    total_amount: Decimal


def line_amount(quantity: int, unit_price: Decimal) -> Decimal:
    return cents(Decimal(quantity) * unit_price)


def order_totals(lines: Sequence[LineInput], tax_amount: Decimal, shipping_cost: Decimal) -> Totals:
    subtotal = cents(sum((line_amount(li.quantity, li.unit_price) for li in lines), ZERO))
    tax, shipping = cents(tax_amount), cents(shipping_cost)
    return Totals(subtotal, tax, shipping, subtotal + tax + shipping)


def validate_line(
    v: Validator, sku: str, description: str, quantity: int, unit_price: Decimal | None, prefix: str
) -> None:
    """One item input; `unit_price` is None when it failed to parse (already reported)."""
    v.require(sku.strip(), prefix + "sku")
    v.max_len(sku, prefix + "sku", MAX_SKU)
    v.require(description.strip(), prefix + "description")
    v.max_len(description, prefix + "description", MAX_DESCRIPTION)
    v.check(quantity > 0, prefix + "quantity", "must be greater than zero")
    v.check(quantity <= MAX_QUANTITY, prefix + "quantity", f"must be at most {MAX_QUANTITY}")
    if unit_price is not None:
        v.check(unit_price >= 0, prefix + "unit_price", "must not be negative")
        v.check(unit_price <= MAX_UNIT_PRICE, prefix + "unit_price", f"must be at most {MAX_UNIT_PRICE}")
        if 0 < quantity <= MAX_QUANTITY and 0 <= unit_price <= MAX_UNIT_PRICE:
            v.check(
                line_amount(quantity, unit_price) <= MAX_AMOUNT,
                prefix + "quantity",
                f"quantity times unit_price must be at most {MAX_AMOUNT}",
            )


def validate_lines_count(v: Validator, count: int, field: str) -> None:
    v.check(count >= 1, field, "must contain at least one item")
    v.check(count <= MAX_ITEMS, field, f"at most {MAX_ITEMS} items per order")


def validate_charges(v: Validator, tax_amount: Decimal | None, shipping_cost: Decimal | None, prefix: str = "") -> None:
    if tax_amount is not None:
        v.check(tax_amount >= 0, prefix + "tax_amount", "must not be negative")
        v.check(tax_amount <= MAX_AMOUNT, prefix + "tax_amount", f"must be at most {MAX_AMOUNT}")
    if shipping_cost is not None:
        v.check(shipping_cost >= 0, prefix + "shipping_cost", "must not be negative")
        v.check(shipping_cost <= MAX_SHIPPING, prefix + "shipping_cost", f"must be at most {MAX_SHIPPING}")


def validate_totals(v: Validator, totals: Totals, field: str = "items") -> None:
    v.check(totals.subtotal <= MAX_AMOUNT, field, f"the subtotal must be at most {MAX_AMOUNT}")
    v.check(totals.total_amount <= MAX_AMOUNT, field, f"the total must be at most {MAX_AMOUNT}")


def attributable_share(
    charge: Decimal, accepted_before: Decimal, accepted_after: Decimal, subtotal: Decimal, fully_received: bool
) -> Decimal:
    """The part of an order-level charge (tax, shipping) that one receipt carries.

    Proportional to the value accepted, computed cumulatively so the receipts' shares add up
    exactly (no rounding drift) to charge x accepted value / subtotal: the whole charge when
    everything was accepted, less when goods were rejected. A zero-value order carries the
    whole charge on the receipt that completes it.
    """
    if subtotal <= 0:
        return cents(charge) if fully_received else ZERO
    return cents(charge * accepted_after / subtotal) - cents(charge * accepted_before / subtotal)
