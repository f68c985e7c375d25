"""Postings requested by inventory events (source_service "inventory").

- StockAdjusted with a negative value (damage, theft, a count short): Dr 5300 Stock Adjustment /
  Cr 1300 Inventory for abs(value); a positive value: Dr 1300 / Cr 5300. Key
  `inventory.adjustment:<movement id>`, date `adjusted_at`.
- ReservationFulfilled: Dr 5100 Cost of Goods Sold / Cr 1300 Inventory for total_cost. Key
  `inventory.cogs:<reservation id>`, date `fulfilled_at`.

A zero value posts nothing. Dates are the UTC day of the event's timestamp. source_id is the stock
movement (adjustments) or the reservation (fulfilments); the reference is the adjustment's
source document (else the movement id) or the fulfilled order id.
"""

from __future__ import annotations

from datetime import UTC, date

from erp.inventory.v1 import events_pb2 as inventory_ev
from erp.inventory.v1 import inventory_pb2 as inventory_pb
from google.protobuf.timestamp_pb2 import Timestamp

from services.accounting import chart, domain
from services.accounting.handlers import NothingToPost, PostingRequest, money, posting_handler
from services.runtime.consumer import Handler
from services.runtime.convert import uuid_from_str
from services.runtime.errors import InvalidArgument
from services.runtime.service import ServiceDeps

SOURCE = "inventory"
STOCK_ADJUSTED = "erp.inventory.v1.StockAdjusted"
RESERVATION_FULFILLED = "erp.inventory.v1.ReservationFulfilled"


def day_of(ts: Timestamp, field: str) -> date:
    """The UTC day of a timestamp (required)."""
    if ts.seconds == 0 and ts.nanos == 0:
        raise InvalidArgument.field(field, "is required")
    return ts.ToDatetime(tzinfo=UTC).date()


def _movement_name(movement_type: inventory_pb.StockMovementType.ValueType) -> str:
    try:
        name = inventory_pb.StockMovementType.Name(movement_type)
    except ValueError:
        return "adjustment"
    return name.removeprefix("STOCK_MOVEMENT_TYPE_").lower()


def stock_adjusted(msg: inventory_ev.StockAdjusted) -> PostingRequest:
    """A loss: Dr Stock Adjustment / Cr Inventory; a gain: Dr Inventory / Cr Stock Adjustment."""
    key = f"inventory.adjustment:{msg.movement_id}"
    reference = (msg.reference or msg.movement_id or key)[:100]

    def draft() -> domain.Draft:
        movement_id = uuid_from_str(msg.movement_id, "movement_id")
        adjusted_on = day_of(msg.adjusted_at, "adjusted_at")
        value = money(msg.value, "value")
        kind = _movement_name(msg.movement_type)
        what = f"{kind} of {msg.quantity:+d} x {msg.sku or msg.item_id}"
        if value == 0:
            raise NothingToPost(f"stock {what} has no value")
        amount = abs(value)
        if value < 0:
            lines = (
                domain.DraftLine(chart.STOCK_ADJUSTMENT, debit=amount, description=f"Stock {kind}"),
                domain.DraftLine(chart.INVENTORY, credit=amount, description=f"{msg.quantity} x {msg.sku}"),
            )
        else:
            lines = (
                domain.DraftLine(chart.INVENTORY, debit=amount, description=f"{msg.quantity} x {msg.sku}"),
                domain.DraftLine(chart.STOCK_ADJUSTMENT, credit=amount, description=f"Stock {kind}"),
            )
        why = f": {msg.reason}" if msg.reason else ""
        return domain.Draft(
            entry_date=adjusted_on,
            lines=lines,
            description=f"Stock {what}{why}"[:2000],
            reference=reference,
            source_service=SOURCE,
            source_id=movement_id,
            posting_key=key,
        )

    return PostingRequest(msg.movement_id, reference, draft)


def reservation_fulfilled(msg: inventory_ev.ReservationFulfilled) -> PostingRequest:
    """Dr Cost of Goods Sold = Cr Inventory (units shipped x unit cost at fulfilment)."""
    key = f"inventory.cogs:{msg.reservation_id}"
    reference = (msg.order_id or msg.reservation_id or key)[:100]

    def draft() -> domain.Draft:
        reservation_id = uuid_from_str(msg.reservation_id, "reservation_id")
        fulfilled_on = day_of(msg.fulfilled_at, "fulfilled_at")
        cost = money(msg.total_cost, "total_cost")
        what = f"{msg.quantity} x {msg.sku or msg.item_id}"
        if cost == 0:
            raise NothingToPost(f"fulfilment of {what} has no cost")
        return domain.Draft(
            entry_date=fulfilled_on,
            lines=(
                domain.DraftLine(chart.COST_OF_GOODS_SOLD, debit=cost, description=f"Cost of {what}"),
                domain.DraftLine(chart.INVENTORY, credit=cost, description=f"{what} shipped"),
            ),
            description=f"Cost of goods sold, order {reference}: {what}"[:2000],
            reference=reference,
            source_service=SOURCE,
            source_id=reservation_id,
            posting_key=key,
        )

    return PostingRequest(msg.reservation_id, reference, draft)


def handlers(deps: ServiceDeps) -> dict[str, Handler]:
    return {
        STOCK_ADJUSTED: posting_handler(stock_adjusted, deps.clock),
        RESERVATION_FULFILLED: posting_handler(reservation_fulfilled, deps.clock),
    }
