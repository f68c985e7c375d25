"""Receiving goods as plain Python: validate one receipt against the order's lines, compute what it
brought, what it is worth and the order's status afterwards. No I/O.

Per line, everything received plus rejected (this receipt and earlier ones) never exceeds the
quantity ordered. The order is RECEIVED when every line is fully accounted for (accepted or
rejected), otherwise PARTIALLY_RECEIVED.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.procurement.domain import OrderStatus
from services.procurement.pricing import ZERO, attributable_share, line_amount
from services.runtime.errors import InvalidArgument, Validator


@dataclass(frozen=True)
class LineState:
    """A line of the order as stored before the receipt."""

    item_id: uuid.UUID
    line_number: int
    sku: str
    quantity: int
    unit_price: Decimal
    quantity_received: int
    quantity_rejected: int

    @property
    def outstanding(self) -> int:
        return self.quantity - self.quantity_received - self.quantity_rejected


@dataclass(frozen=True)
class ReceiptLineInput:
    """What arrived for one line; `item_id` is None when it did not parse (already reported)."""

    item_id: uuid.UUID | None
    quantity_received: int
    quantity_rejected: int


@dataclass(frozen=True)
class ReceivedLine:
    item_id: uuid.UUID
    line_number: int
    sku: str
    quantity_received: int
    quantity_rejected: int
    unit_cost: Decimal
    amount: Decimal  # accepted quantity x unit cost


@dataclass(frozen=True)
class Receipt:
    lines: list[ReceivedLine]
    # item id -> (quantity_received, quantity_rejected) after the receipt
    new_quantities: dict[uuid.UUID, tuple[int, int]]
    fully_received: bool
    status: OrderStatus
    amount: Decimal
    tax_amount: Decimal
    shipping_cost: Decimal

    @property
    def quantity_received(self) -> int:
        return sum(li.quantity_received for li in self.lines)

    @property
    def quantity_rejected(self) -> int:
        return sum(li.quantity_rejected for li in self.lines)

    @property
    def has_rejections(self) -> bool:
        return self.quantity_rejected > 0


def validate_inputs(v: Validator, inputs: Sequence[ReceiptLineInput], field: str = "lines") -> None:
    """Shape checks that need no stored state."""
    v.check(len(inputs) >= 1, field, "must contain at least one line")
    seen: set[uuid.UUID] = set()
    for i, line in enumerate(inputs):
        prefix = f"{field}[{i}]."
        v.check(line.quantity_received >= 0, prefix + "quantity_received", "must not be negative")
        v.check(line.quantity_rejected >= 0, prefix + "quantity_rejected", "must not be negative")
        if line.quantity_received >= 0 and line.quantity_rejected >= 0:
            v.check(
                line.quantity_received + line.quantity_rejected > 0,
                prefix + "quantity_received",
                "a receipt line must accept or reject at least one unit",
            )
        if line.item_id is not None:
            v.check(line.item_id not in seen, prefix + "purchase_order_item_id", "appears more than once")
            seen.add(line.item_id)


def check_receipt_date(
    receipt_date: date, order_date: date, last_receipt: date | None, today: date, field: str = "receipt_date"
) -> None:
    """Goods arrive after they were ordered, not in the future, and receipts are entered in order."""
    v = Validator()
    v.check(receipt_date >= order_date, field, f"must be on or after the order date ({order_date})")
    v.check(receipt_date <= today, field, "must not be in the future")
    if last_receipt is not None:
        v.check(receipt_date >= last_receipt, field, f"must be on or after the previous receipt ({last_receipt})")
    v.raise_if_any()


def apply_receipt(
    lines: Sequence[LineState],
    inputs: Sequence[ReceiptLineInput],
    *,
    subtotal: Decimal,
    tax_amount: Decimal,
    shipping_cost: Decimal,
    field: str = "lines",
) -> Receipt:
    """The receipt's effect; InvalidArgument (every violation at once) for unknown lines or over-receipt."""
    by_id = {li.item_id: li for li in lines}
    v = Validator()
    received: list[ReceivedLine] = []
    for i, entry in enumerate(inputs):
        prefix = f"{field}[{i}]."
        line = by_id.get(entry.item_id) if entry.item_id is not None else None
        if line is None:
            v.check(False, prefix + "purchase_order_item_id", "is not a line of this purchase order")
            continue
        taken = entry.quantity_received + entry.quantity_rejected
        v.check(
            taken <= line.outstanding,
            prefix + "quantity_received",
            f"received plus rejected ({taken}) exceeds the {line.outstanding} unit(s) still outstanding "
            f"on line {line.line_number}",
        )
        received.append(
            ReceivedLine(
                item_id=line.item_id,
                line_number=line.line_number,
                sku=line.sku,
                quantity_received=entry.quantity_received,
                quantity_rejected=entry.quantity_rejected,
                unit_cost=line.unit_price,
                amount=line_amount(entry.quantity_received, line.unit_price),
            )
        )
    v.raise_if_any()
    if not received:
        raise InvalidArgument.field(field, "must contain at least one line")
    this = {r.item_id: r for r in received}
    new_quantities: dict[uuid.UUID, tuple[int, int]] = {}
    for li in lines:
        r = this.get(li.item_id)
        new_quantities[li.item_id] = (
            li.quantity_received + (r.quantity_received if r else 0),
            li.quantity_rejected + (r.quantity_rejected if r else 0),
        )
    fully = all(rec + rej == li.quantity for li in lines for rec, rej in [new_quantities[li.item_id]])
    before = sum((line_amount(li.quantity_received, li.unit_price) for li in lines), ZERO)
    amount = sum((r.amount for r in received), ZERO)
    return Receipt(
        lines=sorted(received, key=lambda r: r.line_number),
        new_quantities=new_quantities,
        fully_received=fully,
        status=OrderStatus.RECEIVED if fully else OrderStatus.PARTIALLY_RECEIVED,
        amount=amount,
        tax_amount=attributable_share(tax_amount, before, before + amount, subtotal, fully),
        shipping_cost=attributable_share(shipping_cost, before, before + amount, subtotal, fully),
    )
