"""Rows to protobuf messages and events for the supply chain service."""

from __future__ import annotations

from erp.supply_chain.v1 import events_pb2 as ev
from erp.supply_chain.v1 import supply_chain_pb2 as pb

from services.runtime.convert import date_to_pb, decimal_to_pb, timestamp_to_pb
from services.supply_chain import performance
from services.supply_chain.domain import ShipmentType, Status, Tracking
from services.supply_chain.tables import CarrierPerformance, Shipment, ShipmentItem, TrackingEvent

SHIPMENT_AGGREGATE = "Shipment"

TYPE_TO_PB = {
    ShipmentType.INBOUND: pb.SHIPMENT_TYPE_INBOUND,
    ShipmentType.OUTBOUND: pb.SHIPMENT_TYPE_OUTBOUND,
}
TYPE_FROM_PB = {v: k for k, v in TYPE_TO_PB.items()}

STATUS_TO_PB = {
    Status.PENDING: pb.SHIPMENT_STATUS_PENDING,
    Status.IN_TRANSIT: pb.SHIPMENT_STATUS_IN_TRANSIT,
    Status.DELIVERED: pb.SHIPMENT_STATUS_DELIVERED,
    Status.CANCELLED: pb.SHIPMENT_STATUS_CANCELLED,
    Status.RETURNED: pb.SHIPMENT_STATUS_RETURNED,
    Status.LOST: pb.SHIPMENT_STATUS_LOST,
}
STATUS_FROM_PB = {v: k for k, v in STATUS_TO_PB.items()}

TRACKING_TO_PB = {
    Tracking.CREATED: pb.TRACKING_STATUS_CREATED,
    Tracking.DISPATCHED: pb.TRACKING_STATUS_DISPATCHED,
    Tracking.IN_TRANSIT: pb.TRACKING_STATUS_IN_TRANSIT,
    Tracking.OUT_FOR_DELIVERY: pb.TRACKING_STATUS_OUT_FOR_DELIVERY,
    Tracking.DELIVERY_ATTEMPTED: pb.TRACKING_STATUS_DELIVERY_ATTEMPTED,
    Tracking.EXCEPTION: pb.TRACKING_STATUS_EXCEPTION,
    Tracking.DELIVERED: pb.TRACKING_STATUS_DELIVERED,
    Tracking.CANCELLED: pb.TRACKING_STATUS_CANCELLED,
    Tracking.RETURNED: pb.TRACKING_STATUS_RETURNED,
    Tracking.LOST: pb.TRACKING_STATUS_LOST,
}
TRACKING_FROM_PB = {v: k for k, v in TRACKING_TO_PB.items()}


def item_to_pb(row: ShipmentItem) -> pb.ShipmentItem:
    return pb.ShipmentItem(
        id=str(row.id),
        shipment_id=str(row.shipment_id),
        sku=row.sku,
        description=row.description or "",
        quantity=row.quantity,
        weight=decimal_to_pb(row.weight),
        create_time=timestamp_to_pb(row.created_at),
    )


def shipment_to_pb(row: Shipment, items: list[ShipmentItem]) -> pb.Shipment:
    return pb.Shipment(
        id=str(row.id),
        shipment_number=row.shipment_number,
        order_id=str(row.order_id),
        shipment_type=TYPE_TO_PB[ShipmentType(row.shipment_type)],
        carrier=row.carrier,
        tracking_number=row.tracking_number or "",
        origin_address=row.origin_address or "",
        origin_city=row.origin_city or "",
        origin_state=row.origin_state or "",
        origin_zip_code=row.origin_zip_code or "",
        destination_address=row.destination_address or "",
        destination_city=row.destination_city or "",
        destination_state=row.destination_state or "",
        destination_zip_code=row.destination_zip_code or "",
        estimated_delivery_date=date_to_pb(row.estimated_delivery_date),
        actual_delivery_date=date_to_pb(row.actual_delivery_date),
        status=STATUS_TO_PB[Status(row.status)],
        delivered_to=row.delivered_to or "",
        dispatched_at=timestamp_to_pb(row.dispatched_at),
        delivered_at=timestamp_to_pb(row.delivered_at),
        create_time=timestamp_to_pb(row.created_at),
        update_time=timestamp_to_pb(row.updated_at),
        items=[item_to_pb(i) for i in items],
        version=row.version,
    )


def tracking_to_pb(row: TrackingEvent) -> pb.TrackingEvent:
    return pb.TrackingEvent(
        id=str(row.id),
        shipment_id=str(row.shipment_id),
        status=TRACKING_TO_PB[Tracking(row.status)],
        location=row.location or "",
        notes=row.notes or "",
        event_time=timestamp_to_pb(row.event_time),
        create_time=timestamp_to_pb(row.created_at),
    )


def performance_to_pb(row: CarrierPerformance) -> pb.CarrierPerformance:
    return pb.CarrierPerformance(
        id=str(row.id),
        carrier=row.carrier,
        metric_date=date_to_pb(row.metric_date),
        total_shipments=row.total_shipments,
        on_time_deliveries=row.on_time_deliveries,
        late_deliveries=row.late_deliveries,
        average_delivery_days=decimal_to_pb(row.average_delivery_days),
        create_time=timestamp_to_pb(row.created_at),
    )


def metrics_of(row: CarrierPerformance) -> performance.Metrics:
    return performance.Metrics(
        total_shipments=row.total_shipments,
        on_time_deliveries=row.on_time_deliveries,
        late_deliveries=row.late_deliveries,
        average_delivery_days=row.average_delivery_days,
    )


# ---- events ----------------------------------------------------------------------------------


def lines(items: list[ShipmentItem]) -> list[ev.ShipmentLine]:
    return [ev.ShipmentLine(sku=i.sku, quantity=i.quantity) for i in items]


def shipment_created(row: Shipment, items: list[ShipmentItem]) -> ev.ShipmentCreated:
    return ev.ShipmentCreated(
        shipment_id=str(row.id),
        shipment_number=row.shipment_number,
        order_id=str(row.order_id),
        shipment_type=TYPE_TO_PB[ShipmentType(row.shipment_type)],
        carrier=row.carrier,
        estimated_delivery_date=date_to_pb(row.estimated_delivery_date),
        destination_city=row.destination_city or "",
        destination_state=row.destination_state or "",
        items=lines(items),
        version=row.version,
    )


def shipment_dispatched(row: Shipment, items: list[ShipmentItem]) -> ev.ShipmentDispatched:
    return ev.ShipmentDispatched(
        shipment_id=str(row.id),
        shipment_number=row.shipment_number,
        order_id=str(row.order_id),
        shipment_type=TYPE_TO_PB[ShipmentType(row.shipment_type)],
        carrier=row.carrier,
        tracking_number=row.tracking_number or "",
        dispatched_at=timestamp_to_pb(row.dispatched_at),
        estimated_delivery_date=date_to_pb(row.estimated_delivery_date),
        items=lines(items),
        version=row.version,
    )


def tracking_updated(row: Shipment, event: TrackingEvent) -> ev.ShipmentTrackingUpdated:
    return ev.ShipmentTrackingUpdated(
        shipment_id=str(row.id),
        shipment_number=row.shipment_number,
        tracking_event_id=str(event.id),
        status=TRACKING_TO_PB[Tracking(event.status)],
        location=event.location or "",
        notes=event.notes or "",
        event_time=timestamp_to_pb(event.event_time),
    )


def shipment_delivered(row: Shipment, items: list[ShipmentItem], on_time: bool) -> ev.ShipmentDelivered:
    return ev.ShipmentDelivered(
        shipment_id=str(row.id),
        shipment_number=row.shipment_number,
        order_id=str(row.order_id),
        shipment_type=TYPE_TO_PB[ShipmentType(row.shipment_type)],
        carrier=row.carrier,
        tracking_number=row.tracking_number or "",
        actual_delivery_date=date_to_pb(row.actual_delivery_date),
        estimated_delivery_date=date_to_pb(row.estimated_delivery_date),
        delivered_at=timestamp_to_pb(row.delivered_at),
        dispatched_at=timestamp_to_pb(row.dispatched_at),
        on_time=on_time,
        items=lines(items),
        version=row.version,
    )


def shipment_cancelled(row: Shipment, items: list[ShipmentItem], reason: str) -> ev.ShipmentCancelled:
    return ev.ShipmentCancelled(
        shipment_id=str(row.id),
        shipment_number=row.shipment_number,
        order_id=str(row.order_id),
        shipment_type=TYPE_TO_PB[ShipmentType(row.shipment_type)],
        reason=reason,
        items=lines(items),
        version=row.version,
    )


def shipment_returned(row: Shipment, items: list[ShipmentItem], previous: Status, reason: str) -> ev.ShipmentReturned:
    return ev.ShipmentReturned(
        shipment_id=str(row.id),
        shipment_number=row.shipment_number,
        order_id=str(row.order_id),
        shipment_type=TYPE_TO_PB[ShipmentType(row.shipment_type)],
        carrier=row.carrier,
        previous_status=STATUS_TO_PB[previous],
        reason=reason,
        items=lines(items),
        version=row.version,
    )


def shipment_lost(row: Shipment, items: list[ShipmentItem], notes: str) -> ev.ShipmentLost:
    return ev.ShipmentLost(
        shipment_id=str(row.id),
        shipment_number=row.shipment_number,
        order_id=str(row.order_id),
        shipment_type=TYPE_TO_PB[ShipmentType(row.shipment_type)],
        carrier=row.carrier,
        tracking_number=row.tracking_number or "",
        notes=notes,
        items=lines(items),
        version=row.version,
    )
