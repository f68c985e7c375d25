"""The Shipment entity (erp.supply_chain.v1.Shipment), with its items and tracking history."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import strawberry
from erp.supply_chain.v1 import supply_chain_pb2 as pb

from gateway.context import GatewayInfo
from gateway.enums import ProtoEnum
from gateway.refs import with_references
from gateway.wire import date_of, datetime_of, decimal_of


@strawberry.enum(description="Inbound (from a vendor) or outbound (to a customer).")
class ShipmentType(enum.Enum):
    INBOUND = "INBOUND"
    OUTBOUND = "OUTBOUND"


@strawberry.enum(description="PENDING -> IN_TRANSIT -> DELIVERED; CANCELLED, RETURNED or LOST.")
class ShipmentStatus(enum.Enum):
    PENDING = "PENDING"
    IN_TRANSIT = "IN_TRANSIT"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"
    RETURNED = "RETURNED"
    LOST = "LOST"


@strawberry.enum(description="What a tracking event says happened.")
class TrackingStatus(enum.Enum):
    CREATED = "CREATED"
    DISPATCHED = "DISPATCHED"
    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DELIVERY_ATTEMPTED = "DELIVERY_ATTEMPTED"
    EXCEPTION = "EXCEPTION"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"
    RETURNED = "RETURNED"
    LOST = "LOST"


SHIPMENT_TYPE = ProtoEnum(ShipmentType, pb.ShipmentType, "SHIPMENT_TYPE_")
SHIPMENT_STATUS = ProtoEnum(ShipmentStatus, pb.ShipmentStatus, "SHIPMENT_STATUS_")
TRACKING_STATUS = ProtoEnum(TrackingStatus, pb.TrackingStatus, "TRACKING_STATUS_")


@strawberry.type(description="One line of a shipment.")
@with_references(pb.ShipmentItem.DESCRIPTOR, skip=frozenset({"shipment_id"}))
class ShipmentItem:
    id: strawberry.ID
    shipment_id: strawberry.ID
    sku: str
    description: str | None
    quantity: int
    weight: Decimal | None

    @classmethod
    def from_proto(cls, m: pb.ShipmentItem) -> ShipmentItem:
        return cls(
            id=strawberry.ID(m.id),
            shipment_id=strawberry.ID(m.shipment_id),
            sku=m.sku,
            description=m.description or None,
            quantity=m.quantity,
            weight=decimal_of(m.weight),
        )


@strawberry.type(description="One entry of a shipment's tracking history.")
class TrackingEvent:
    id: strawberry.ID
    shipment_id: strawberry.ID
    status: TrackingStatus
    location: str | None
    notes: str | None
    event_time: datetime | None

    @classmethod
    def from_proto(cls, m: pb.TrackingEvent) -> TrackingEvent:
        return cls(
            id=strawberry.ID(m.id),
            shipment_id=strawberry.ID(m.shipment_id),
            status=TRACKING_STATUS.from_pb(m.status),
            location=m.location or None,
            notes=m.notes or None,
            event_time=datetime_of(m, "event_time"),
        )


@strawberry.federation.type(keys=["id"], description="Goods moving between the company and a vendor or customer.")
@with_references(pb.Shipment.DESCRIPTOR)
class Shipment:
    id: strawberry.ID
    shipment_number: str
    order_id: str | None
    shipment_type: ShipmentType
    carrier: str
    tracking_number: str | None
    origin_city: str | None
    destination_city: str | None
    destination_state: str | None
    estimated_delivery_date: date | None
    actual_delivery_date: date | None
    status: ShipmentStatus
    delivered_to: str | None
    dispatched_at: datetime | None
    delivered_at: datetime | None
    items: list[ShipmentItem]
    create_time: datetime | None
    update_time: datetime | None
    version: int = strawberry.field(description="Optimistic-locking version: send it back with every change.")

    @classmethod
    def from_proto(cls, m: pb.Shipment) -> Shipment:
        return cls(
            id=strawberry.ID(m.id),
            shipment_number=m.shipment_number,
            order_id=m.order_id or None,
            shipment_type=SHIPMENT_TYPE.from_pb(m.shipment_type),
            carrier=m.carrier,
            tracking_number=m.tracking_number or None,
            origin_city=m.origin_city or None,
            destination_city=m.destination_city or None,
            destination_state=m.destination_state or None,
            estimated_delivery_date=date_of(m.estimated_delivery_date),
            actual_delivery_date=date_of(m.actual_delivery_date),
            status=SHIPMENT_STATUS.from_pb(m.status),
            delivered_to=m.delivered_to or None,
            dispatched_at=datetime_of(m, "dispatched_at"),
            delivered_at=datetime_of(m, "delivered_at"),
            items=[ShipmentItem.from_proto(i) for i in m.items],
            create_time=datetime_of(m, "create_time"),
            update_time=datetime_of(m, "update_time"),
            version=m.version,
        )

    @classmethod
    async def resolve_reference(cls, info: GatewayInfo, id: strawberry.ID) -> Shipment | None:
        message = await info.context.loaders.supply_chain.shipments.load(id)
        return None if message is None else cls.from_proto(message)

    @strawberry.field(description="Tracking history, oldest first (one listing per shipment).")
    async def tracking_history(self, info: GatewayInfo) -> list[TrackingEvent]:
        events = await info.context.loaders.supply_chain.tracking_history.load(self.id)
        return [TrackingEvent.from_proto(e) for e in events]
