"""What inventory does on the supply chain's events: an outbound delivery fulfils its order.

`ShipmentDelivered` of an OUTBOUND shipment carries, as `order_id`, the order whose stock
reservations it took away: every ACTIVE reservation of that order is fulfilled, with the same
functions FulfilOrder uses (`reservations.active_of_order` / `fulfil`: one FULFILLMENT movement
each, on hand and reserved both fall, `ReservationFulfilled` for accounting's COGS), in the
consumer's unit of work. Exactly once: a redelivered event is skipped by processed_events, and a
second ShipmentDelivered for the same order (another event id) finds nothing active left.
An order with nothing active (already fulfilled, released, expired or unknown here) changes
nothing; why is recorded in the handler's result. Inbound shipments are procurement's business.
"""

from __future__ import annotations

import uuid
from typing import Any

from erp.supply_chain.v1 import events_pb2 as sc_ev
from erp.supply_chain.v1 import supply_chain_pb2 as sc_pb

from services.inventory import reservations
from services.runtime.clock import Clock
from services.runtime.consumer import Handler
from services.runtime.db import UnitOfWork
from services.runtime.events import ReceivedEvent
from services.runtime.service import ServiceDeps

SHIPMENT_DELIVERED = "erp.supply_chain.v1.ShipmentDelivered"


async def fulfil_delivered_order(uow: UnitOfWork, msg: sc_ev.ShipmentDelivered, clock: Clock) -> dict[str, Any]:
    result: dict[str, Any] = {"shipment_number": msg.shipment_number, "order_id": msg.order_id}
    if msg.shipment_type != sc_pb.SHIPMENT_TYPE_OUTBOUND:
        return {**result, "ignored": "not an outbound shipment"}
    try:
        order_id = uuid.UUID(msg.order_id)
    except ValueError:
        return {**result, "ignored": "order_id is not a UUID"}
    active = await reservations.active_of_order(uow, order_id)
    if not active:
        has_fulfilled = await reservations.order_has_fulfilled(uow, order_id)
        if has_fulfilled is None:
            why = "the order has no reservations"
        elif has_fulfilled:
            why = "the order is already fulfilled"
        else:
            why = "the order's reservations were released or expired"
        return {**result, "fulfilled": [], "noop": why}
    now = clock.now()
    fulfilled = []
    for reservation in active:
        item = await reservations.item_for(uow, reservation)
        movement = reservations.fulfil(uow, reservation, item, now, None)
        fulfilled.append(
            {"reservation_id": str(reservation.id), "movement_id": str(movement.id), "quantity": reservation.quantity}
        )
    return {**result, "fulfilled": fulfilled}


def handlers(deps: ServiceDeps) -> dict[str, Handler]:
    async def on_shipment_delivered(uow: UnitOfWork, event: ReceivedEvent) -> dict[str, Any]:
        msg = event.message
        assert isinstance(msg, sc_ev.ShipmentDelivered)
        return await fulfil_delivered_order(uow, msg, deps.clock)

    return {SHIPMENT_DELIVERED: on_shipment_delivered}
