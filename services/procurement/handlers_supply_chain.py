"""What procurement does on the supply chain's events: the carrier's delivery date of an order.

`ShipmentDelivered` of an INBOUND shipment carries, as `order_id`, the purchase order whose goods
it brought. The carrier's `actual_delivery_date` becomes the order's `actual_delivery_date`
("day the goods arrived") when the order has none yet and has been sent to the vendor (ORDERED or
PARTIALLY_RECEIVED): the arrival is known before the goods are counted in. A completing receipt
still sets the date to its receipt date, as before (the receipt is the record of what arrived),
and vendor performance keeps being computed from receipts only, so this adds no second source
of metrics. The order's version goes up (its row changed); the contract has no event for it.
Anything else (outbound shipment, unknown order, an order not sent or already dated) changes
nothing and says why in the handler's result (processed_events.result).
"""

from __future__ import annotations

import uuid
from typing import Any

from erp.supply_chain.v1 import events_pb2 as sc_ev
from erp.supply_chain.v1 import supply_chain_pb2 as sc_pb
from sqlalchemy import select

from services.procurement.domain import OrderStatus
from services.procurement.tables import PurchaseOrder
from services.runtime.clock import Clock
from services.runtime.consumer import Handler
from services.runtime.convert import date_from_pb
from services.runtime.db import UnitOfWork
from services.runtime.errors import InvalidArgument
from services.runtime.events import ReceivedEvent
from services.runtime.service import ServiceDeps

SHIPMENT_DELIVERED = "erp.supply_chain.v1.ShipmentDelivered"
AWAITING_GOODS = frozenset({OrderStatus.ORDERED, OrderStatus.PARTIALLY_RECEIVED})


async def record_carrier_delivery(uow: UnitOfWork, msg: sc_ev.ShipmentDelivered, clock: Clock) -> dict[str, Any]:
    result: dict[str, Any] = {"shipment_number": msg.shipment_number, "purchase_order_id": msg.order_id}
    if msg.shipment_type != sc_pb.SHIPMENT_TYPE_INBOUND:
        return {**result, "ignored": "not an inbound shipment"}
    try:
        order_id = uuid.UUID(msg.order_id)
        delivered = date_from_pb(msg.actual_delivery_date, "actual_delivery_date")
    except (ValueError, InvalidArgument):
        return {**result, "ignored": "order_id or actual_delivery_date is not usable"}
    stmt = select(PurchaseOrder).where(PurchaseOrder.id == order_id).with_for_update()
    order = (await uow.session.execute(stmt)).scalar_one_or_none()
    if order is None:
        return {**result, "ignored": "no such purchase order"}
    if order.actual_delivery_date is not None:
        return {**result, "unchanged": order.actual_delivery_date.isoformat()}
    if order.status not in AWAITING_GOODS:
        return {**result, "ignored": f"the purchase order is {order.status}"}
    order.actual_delivery_date = delivered
    order.version += 1
    order.updated_at = clock.now()
    return {**result, "actual_delivery_date": str(delivered)}


def handlers(deps: ServiceDeps) -> dict[str, Handler]:
    async def on_shipment_delivered(uow: UnitOfWork, event: ReceivedEvent) -> dict[str, Any]:
        msg = event.message
        assert isinstance(msg, sc_ev.ShipmentDelivered)
        return await record_carrier_delivery(uow, msg, deps.clock)

    return {SHIPMENT_DELIVERED: on_shipment_delivered}
