"""Supply chain commands: shipments through their lifecycle (create with items, dispatch, track,
deliver, cancel, mark returned or lost)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry
from erp.supply_chain.v1 import supply_chain_pb2 as pb
from erp.supply_chain.v1 import supply_chain_service_pb2 as api

from gateway.context import GatewayInfo
from gateway.types.shipment import (
    SHIPMENT_TYPE,
    TRACKING_STATUS,
    Shipment,
    ShipmentType,
    TrackingEvent,
    TrackingStatus,
)
from services.runtime.convert import date_to_pb, decimal_to_pb, timestamp_to_pb


@strawberry.input
class ShipmentItemInput:
    sku: str
    quantity: int
    description: str | None = None
    weight: Decimal | None = None


@strawberry.input(description="A PENDING shipment with at least one item.")
class CreateShipmentInput:
    order_id: str
    shipment_type: ShipmentType
    carrier: str
    items: list[ShipmentItemInput]
    tracking_number: str | None = strawberry.field(default=None, description="When already known.")
    origin_address: str | None = None
    origin_city: str | None = None
    origin_state: str | None = None
    origin_zip_code: str | None = None
    destination_address: str | None = None
    destination_city: str | None = None
    destination_state: str | None = None
    destination_zip_code: str | None = None
    estimated_delivery_date: date | None = None


@strawberry.input
class DispatchShipmentInput:
    id: strawberry.ID
    version: int
    tracking_number: str | None = strawberry.field(default=None, description="Required unless already set.")
    dispatched_at: datetime | None = strawberry.field(default=None, description="Now when omitted.")
    estimated_delivery_date: date | None = strawberry.field(default=None, description="Unchanged when omitted.")


@strawberry.input(description="IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERY_ATTEMPTED or EXCEPTION.")
class RecordTrackingEventInput:
    shipment_id: strawberry.ID
    status: TrackingStatus
    location: str | None = None
    notes: str | None = None
    event_time: datetime | None = strawberry.field(default=None, description="Now when omitted.")


@strawberry.input
class DeliverShipmentInput:
    id: strawberry.ID
    version: int
    delivered_to: str | None = strawberry.field(default=None, description="Who signed for it.")
    delivered_at: datetime | None = strawberry.field(default=None, description="Now when omitted.")
    location: str | None = None


@strawberry.input
class CancelShipmentInput:
    id: strawberry.ID
    version: int
    reason: str


@strawberry.input
class MarkShipmentReturnedInput:
    id: strawberry.ID
    version: int
    reason: str


@strawberry.input
class MarkShipmentLostInput:
    id: strawberry.ID
    version: int
    notes: str | None = strawberry.field(default=None, description="E.g. the carrier's claim number.")


def _shipment(info: GatewayInfo, shipment: pb.Shipment) -> Shipment:
    info.context.loaders.remember([shipment], changed=True)
    info.context.loaders.supply_chain.history_changed(shipment.id)
    return Shipment.from_proto(shipment)


@strawberry.type
class SupplyChainMutations:
    @strawberry.mutation(description="Creates a PENDING shipment with its items.")
    async def create_shipment(self, info: GatewayInfo, input: CreateShipmentInput) -> Shipment | None:
        request = api.CreateShipmentRequest(
            order_id=input.order_id,
            shipment_type=SHIPMENT_TYPE.to_pb(input.shipment_type),
            carrier=input.carrier,
            tracking_number=input.tracking_number or "",
            origin_address=input.origin_address or "",
            origin_city=input.origin_city or "",
            origin_state=input.origin_state or "",
            origin_zip_code=input.origin_zip_code or "",
            destination_address=input.destination_address or "",
            destination_city=input.destination_city or "",
            destination_state=input.destination_state or "",
            destination_zip_code=input.destination_zip_code or "",
            estimated_delivery_date=date_to_pb(input.estimated_delivery_date),
            items=[
                api.ShipmentItemInput(
                    sku=item.sku,
                    description=item.description or "",
                    quantity=item.quantity,
                    weight=decimal_to_pb(item.weight),
                )
                for item in input.items
            ],
        )
        response = await info.context.clients.supply_chain.call(lambda s: s.CreateShipment(request))
        return _shipment(info, response.shipment)

    @strawberry.mutation(description="Hands a PENDING shipment to the carrier (IN_TRANSIT).")
    async def dispatch_shipment(self, info: GatewayInfo, input: DispatchShipmentInput) -> Shipment | None:
        request = api.DispatchShipmentRequest(
            id=input.id,
            version=input.version,
            tracking_number=input.tracking_number or "",
            dispatched_at=timestamp_to_pb(input.dispatched_at),
            estimated_delivery_date=date_to_pb(input.estimated_delivery_date),
        )
        response = await info.context.clients.supply_chain.call(lambda s: s.DispatchShipment(request))
        return _shipment(info, response.shipment)

    @strawberry.mutation(description="Adds a carrier tracking event to an IN_TRANSIT shipment.")
    async def record_tracking_event(self, info: GatewayInfo, input: RecordTrackingEventInput) -> TrackingEvent | None:
        request = api.RecordTrackingEventRequest(
            shipment_id=input.shipment_id,
            status=TRACKING_STATUS.to_pb(input.status),
            location=input.location or "",
            notes=input.notes or "",
            event_time=timestamp_to_pb(input.event_time),
        )
        response = await info.context.clients.supply_chain.call(lambda s: s.RecordTrackingEvent(request))
        info.context.loaders.supply_chain.history_changed(response.tracking_event.shipment_id)
        return TrackingEvent.from_proto(response.tracking_event)

    @strawberry.mutation(description="Records delivery of an IN_TRANSIT shipment (DELIVERED).")
    async def deliver_shipment(self, info: GatewayInfo, input: DeliverShipmentInput) -> Shipment | None:
        request = api.DeliverShipmentRequest(
            id=input.id,
            version=input.version,
            delivered_to=input.delivered_to or "",
            delivered_at=timestamp_to_pb(input.delivered_at),
            location=input.location or "",
        )
        response = await info.context.clients.supply_chain.call(lambda s: s.DeliverShipment(request))
        return _shipment(info, response.shipment)

    @strawberry.mutation(description="Cancels a PENDING or IN_TRANSIT shipment (not once delivered, returned or lost).")
    async def cancel_shipment(self, info: GatewayInfo, input: CancelShipmentInput) -> Shipment | None:
        request = api.CancelShipmentRequest(id=input.id, version=input.version, reason=input.reason)
        response = await info.context.clients.supply_chain.call(lambda s: s.CancelShipment(request))
        return _shipment(info, response.shipment)

    @strawberry.mutation(description="Records that an IN_TRANSIT or DELIVERED shipment came back (RETURNED).")
    async def mark_shipment_returned(self, info: GatewayInfo, input: MarkShipmentReturnedInput) -> Shipment | None:
        request = api.MarkShipmentReturnedRequest(id=input.id, version=input.version, reason=input.reason)
        response = await info.context.clients.supply_chain.call(lambda s: s.MarkShipmentReturned(request))
        return _shipment(info, response.shipment)

    @strawberry.mutation(description="Records that the carrier lost an IN_TRANSIT shipment (LOST).")
    async def mark_shipment_lost(self, info: GatewayInfo, input: MarkShipmentLostInput) -> Shipment | None:
        request = api.MarkShipmentLostRequest(id=input.id, version=input.version, notes=input.notes or "")
        response = await info.context.clients.supply_chain.call(lambda s: s.MarkShipmentLost(request))
        return _shipment(info, response.shipment)
