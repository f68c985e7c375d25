"""What inventory does on procurement's events: quantity on order and goods receipts.

Each handler runs in the consumer's unit of work (its effects and the processed_events row
commit together, so a redelivered event changes nothing). A line naming an unknown SKU, or
carrying unusable values, is skipped and reported in the handler's result (processed_events.result);
the other lines still apply. Movements caused by events have no `moved_by`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from erp.procurement.v1 import events_pb2 as po_ev
from erp.procurement.v1 import procurement_pb2 as po_pb

from services.inventory import domain
from services.inventory.stock import MovementSpec, change_stock, levels_changed, lock_items_by_sku
from services.inventory.tables import InventoryItem
from services.runtime.clock import Clock
from services.runtime.consumer import Handler
from services.runtime.convert import decimal_from_pb
from services.runtime.db import UnitOfWork
from services.runtime.errors import DomainError
from services.runtime.events import ReceivedEvent
from services.runtime.service import ServiceDeps

PO_ORDERED = "erp.procurement.v1.PurchaseOrderOrdered"
PO_RECEIVED = "erp.procurement.v1.PurchaseOrderReceived"
PO_CANCELLED = "erp.procurement.v1.PurchaseOrderCancelled"

# A cancelled order added to quantity_on_order only if it had been sent to the vendor.
NEVER_ORDERED = frozenset({po_pb.PURCHASE_ORDER_STATUS_PENDING, po_pb.PURCHASE_ORDER_STATUS_APPROVED})

Result = dict[str, Any]


def _skip(result: Result, sku: str, reason: str) -> None:
    result["skipped"].append({"sku": sku, "reason": reason})


async def on_ordered(uow: UnitOfWork, event: ReceivedEvent, now: datetime) -> Result:
    """quantity_on_order += each line's ordered quantity."""
    msg = cast(po_ev.PurchaseOrderOrdered, event.message)
    result: Result = {"po_number": msg.po_number, "applied": [], "skipped": []}
    items = await lock_items_by_sku(uow.session, [line.sku for line in msg.lines])
    for line in msg.lines:
        item = items.get(line.sku)
        if item is None:
            _skip(result, line.sku, "unknown sku")
        elif line.quantity <= 0:
            _skip(result, line.sku, "quantity must be positive")
        else:
            _change_on_order(uow, item, now, line.quantity, result, line.sku)
    return result


async def on_cancelled(uow: UnitOfWork, event: ReceivedEvent, now: datetime) -> Result:
    """quantity_on_order -= each line's outstanding quantity (never below zero), when the order
    had been sent to the vendor."""
    msg = cast(po_ev.PurchaseOrderCancelled, event.message)
    result: Result = {"po_number": msg.po_number, "applied": [], "skipped": []}
    if msg.previous_status in NEVER_ORDERED:
        result["ignored"] = "the order was never sent to the vendor"
        return result
    items = await lock_items_by_sku(uow.session, [line.sku for line in msg.lines])
    for line in msg.lines:
        item = items.get(line.sku)
        if item is None:
            _skip(result, line.sku, "unknown sku")
        elif line.quantity < 0:
            _skip(result, line.sku, "quantity must not be negative")
        else:
            delta = domain.less_on_order(item.quantity_on_order, line.quantity) - item.quantity_on_order
            _change_on_order(uow, item, now, delta, result, line.sku)
    return result


async def on_received(uow: UnitOfWork, event: ReceivedEvent, now: datetime) -> Result:
    """For each line of a known SKU: a RECEIPT movement of the accepted units (reference = PO
    number), the moving-average unit cost, and quantity_on_order lowered by accepted + rejected
    units (never below zero)."""
    msg = cast(po_ev.PurchaseOrderReceived, event.message)
    result: Result = {"po_number": msg.po_number, "applied": [], "skipped": []}
    items = await lock_items_by_sku(uow.session, [line.sku for line in msg.lines])
    for line in msg.lines:
        item = items.get(line.sku)
        if item is None:
            _skip(result, line.sku, "unknown sku")
            continue
        try:
            cost = _receipt_cost(line)
            _receive(uow, item, now, line, cost, msg.po_number)
        except (DomainError, ValueError) as exc:
            _skip(result, line.sku, str(exc))
            continue
        result["applied"].append(
            {"sku": line.sku, "quantity_received": line.quantity_received, "unit_cost": format(item.unit_cost, "f")}
        )
    return result


def _receipt_cost(line: po_ev.ReceiptLine) -> Decimal:
    if line.quantity_received < 0 or line.quantity_rejected < 0:
        raise ValueError("quantities must not be negative")
    if line.quantity_received == 0:
        return Decimal("0")
    cost = decimal_from_pb(line.unit_cost, "unit_cost")
    if cost is None or cost < 0 or cost > domain.MAX_MONEY:
        raise ValueError(f"unit_cost must be between 0 and {domain.MAX_MONEY}")
    return cost


def _receive(
    uow: UnitOfWork, item: InventoryItem, now: datetime, line: po_ev.ReceiptLine, cost: Decimal, po_number: str
) -> None:
    received = line.quantity_received
    expected_less = domain.less_on_order(item.quantity_on_order, received + line.quantity_rejected)
    on_order_delta = expected_less - item.quantity_on_order
    if received == 0 and on_order_delta == 0:
        return
    new_cost = (
        domain.moving_average_cost(item.quantity_on_hand, item.unit_cost, received, cost)
        if received > 0
        else item.unit_cost
    )
    spec = MovementSpec(domain.MovementType.RECEIPT, reference=po_number[:100] or None)
    change_stock(uow, item, now, on_hand=received, on_order=on_order_delta, movement=spec)
    item.unit_cost = new_cost
    levels_changed(uow, item)


def _change_on_order(uow: UnitOfWork, item: InventoryItem, now: datetime, delta: int, result: Result, sku: str) -> None:
    if delta != 0:
        try:
            change_stock(uow, item, now, on_order=delta)
        except DomainError as exc:
            _skip(result, sku, exc.message)
            return
        levels_changed(uow, item)
    result["applied"].append({"sku": sku, "quantity_on_order": item.quantity_on_order})


def _bind(clock: Clock, fn: Callable[[UnitOfWork, ReceivedEvent, datetime], Awaitable[Result]]) -> Handler:
    async def handle(uow: UnitOfWork, event: ReceivedEvent) -> Result:
        return await fn(uow, event, clock.now())

    return handle


def handlers(deps: ServiceDeps) -> dict[str, Handler]:
    return {
        PO_ORDERED: _bind(deps.clock, on_ordered),
        PO_RECEIVED: _bind(deps.clock, on_received),
        PO_CANCELLED: _bind(deps.clock, on_cancelled),
    }
