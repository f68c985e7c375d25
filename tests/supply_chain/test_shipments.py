"""Creating, reading, listing and updating shipments; unique numbers and tracking numbers."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import asyncpg
from erp.supply_chain.v1 import supply_chain_pb2 as pb
from erp.supply_chain.v1 import supply_chain_service_pb2 as api
from google.protobuf.field_mask_pb2 import FieldMask

from tests.supply_chain.helpers import (
    Code,
    PinnableClock,
    Stub,
    create,
    day,
    dec,
    deliver,
    dispatch,
    event_names,
    history,
    item,
    new_id,
    outbox_events,
    rejected,
    rpc_error,
    shipment_request,
    tag,
)


async def test_create_returns_a_pending_numbered_shipment_with_items(stub: Stub, db: asyncpg.Connection) -> None:
    order_id = new_id()
    s = await create(
        stub,
        order_id=order_id,
        items=[item("SKU-A", 3, "2.25", description="Bolts"), item("SKU-B", 1, "0.10")],
        tracking_number=f"TRK-{tag()}",
    )
    assert re.fullmatch(r"SH-\d{4}-\d{6}", s.shipment_number)
    assert (s.status, s.order_id, s.version) == (pb.SHIPMENT_STATUS_PENDING, order_id, 1)
    assert [(i.sku, i.quantity, i.weight.value, i.description) for i in s.items] == [
        ("SKU-A", 3, "2.25", "Bolts"),
        ("SKU-B", 1, "0.10", "Widget"),
    ]
    assert s.destination_city == "Austin" and s.estimated_delivery_date.day == 7
    got = (await stub.GetShipment(api.GetShipmentRequest(id=s.id))).shipment
    assert got == s
    assert [e.status for e in await history(stub, s.id)] == [pb.TRACKING_STATUS_CREATED]
    assert await event_names(db, s.id) == ["ShipmentCreated"]
    created = (await outbox_events(db, s.id))[0]
    assert (created.shipment_number, created.order_id, created.version) == (s.shipment_number, order_id, 1)
    assert [(line.sku, line.quantity) for line in created.items] == [("SKU-A", 3), ("SKU-B", 1)]


async def test_numbers_are_gap_free_per_year(stub: Stub, db: asyncpg.Connection, clock: PinnableClock) -> None:
    clock.pin(datetime(2041, 5, 1, 9, 0, tzinfo=UTC))
    taken = f"TRK-{tag()}"
    first = await create(stub, tracking_number=taken)
    # A refused shipment takes no number.
    await rejected(db, lambda: stub.CreateShipment(shipment_request(tracking_number=taken)), Code.ALREADY_EXISTS)
    second = await create(stub)
    clock.pin(datetime(2042, 1, 1, 0, 0, tzinfo=UTC))
    next_year = await create(stub)
    assert [first.shipment_number, second.shipment_number, next_year.shipment_number] == [
        "SH-2041-000001",
        "SH-2041-000002",
        "SH-2042-000001",
    ]


async def test_tracking_numbers_are_unique(stub: Stub, db: asyncpg.Connection) -> None:
    taken = f"TRK-{tag()}"
    await create(stub, tracking_number=taken)
    other = await create(stub)
    await rejected(
        db,
        lambda: stub.CreateShipment(shipment_request(tracking_number=taken)),
        Code.ALREADY_EXISTS,
        message="tracking number",
    )
    update = api.UpdateShipmentRequest(
        shipment=pb.Shipment(id=other.id, tracking_number=taken), update_mask=FieldMask(paths=["tracking_number"])
    )
    await rejected(db, lambda: stub.UpdateShipment(update), Code.ALREADY_EXISTS, shipments=(other.id,))
    req = api.DispatchShipmentRequest(id=other.id, tracking_number=taken)
    await rejected(db, lambda: stub.DispatchShipment(req), Code.ALREADY_EXISTS, shipments=(other.id,))


async def test_bad_input_names_every_field_and_writes_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    bad = api.CreateShipmentRequest(
        order_id="not-a-uuid",
        carrier="  ",
        origin_city="x" * 101,
        estimated_delivery_date=day(2025, 2, 30),
        items=[
            api.ShipmentItemInput(sku="", quantity=0, weight=dec("-1")),
            api.ShipmentItemInput(sku="OK", quantity=1, weight=dec("1.234")),
        ],
    )
    await rejected(
        db,
        lambda: stub.CreateShipment(bad),
        Code.INVALID_ARGUMENT,
        fields=(
            "order_id",
            "shipment_type",
            "carrier",
            "origin_city",
            "estimated_delivery_date",
            "items[0].sku",
            "items[0].quantity",
            "items[0].weight",
            "items[1].weight",
        ),
    )
    await rejected(
        db, lambda: stub.CreateShipment(shipment_request(items=[])), Code.INVALID_ARGUMENT, fields=("items",)
    )
    await rpc_error(stub.GetShipment(api.GetShipmentRequest(id=new_id())), Code.NOT_FOUND)
    await rpc_error(stub.GetShipment(api.GetShipmentRequest(id="nope")), Code.INVALID_ARGUMENT)


async def test_batch_get_and_list_with_filters(stub: Stub) -> None:
    order_id = new_id()
    carrier = f"Carrier {tag()}"
    sku = f"SKU-{tag()}"
    a = await create(stub, order_id=order_id, carrier=carrier, items=[item(sku)])
    b = await create(stub, order_id=order_id, carrier=carrier, shipment_type=pb.SHIPMENT_TYPE_INBOUND)
    c = await dispatch(stub, await create(stub, order_id=order_id, carrier=carrier))

    got = await stub.BatchGetShipments(api.BatchGetShipmentsRequest(ids=[a.id, b.id, a.id, new_id()]))
    assert sorted(s.id for s in got.shipments) == sorted([a.id, b.id])
    assert all(s.items for s in got.shipments)

    async def ids(**filters: object) -> list[str]:
        out: list[str] = []
        token = ""
        while True:
            page = await stub.ListShipments(api.ListShipmentsRequest(page_size=1, page_token=token, **filters))
            out.extend(s.id for s in page.shipments)
            token = page.next_page_token
            if not token:
                return out

    assert await ids(order_ids=[order_id]) == [c.id, b.id, a.id]  # newest first, across pages
    assert await ids(carriers=[carrier], statuses=[pb.SHIPMENT_STATUS_IN_TRANSIT]) == [c.id]
    assert await ids(order_ids=[order_id], shipment_type=pb.SHIPMENT_TYPE_INBOUND) == [b.id]
    assert await ids(sku=sku) == [a.id]
    assert await ids(tracking_number=c.tracking_number) == [c.id]
    page = await stub.ListShipments(api.ListShipmentsRequest(order_ids=[order_id], page_size=2))
    assert page.total_size == 3 and len(page.shipments) == 2
    err = await rpc_error(stub.ListShipments(api.ListShipmentsRequest(statuses=[99])), Code.INVALID_ARGUMENT)
    assert "statuses" in (err.details() or "")


async def test_update_fields_versions_and_rules(stub: Stub, db: asyncpg.Connection) -> None:
    s = await create(stub)
    req = api.UpdateShipmentRequest(
        shipment=pb.Shipment(id=s.id, carrier="UPS Freight", destination_city="Dallas"),
        update_mask=FieldMask(paths=["carrier", "destination_city"]),
        version=s.version,
    )
    updated = (await stub.UpdateShipment(req)).shipment
    assert (updated.carrier, updated.destination_city, updated.version) == ("UPS Freight", "Dallas", 2)
    # Stale version: ABORTED, nothing written.
    await rejected(db, lambda: stub.UpdateShipment(req), Code.ABORTED, shipments=(s.id,))
    bad_mask = api.UpdateShipmentRequest(shipment=pb.Shipment(id=s.id), update_mask=FieldMask(paths=["status"]))
    await rejected(db, lambda: stub.UpdateShipment(bad_mask), Code.INVALID_ARGUMENT, fields=("update_mask",))

    moving = await dispatch(stub, updated)
    address = api.UpdateShipmentRequest(
        shipment=pb.Shipment(id=s.id, destination_city="Houston"), update_mask=FieldMask(paths=["destination_city"])
    )
    await rejected(db, lambda: stub.UpdateShipment(address), Code.FAILED_PRECONDITION, shipments=(s.id,))
    estimate = api.UpdateShipmentRequest(
        shipment=pb.Shipment(id=s.id, estimated_delivery_date=day(2099, 1, 2)),
        update_mask=FieldMask(paths=["estimated_delivery_date"]),
        version=moving.version,
    )
    moved = (await stub.UpdateShipment(estimate)).shipment
    assert (moved.estimated_delivery_date.year, moved.version) == (2099, moving.version + 1)
    await deliver(stub, moved)
    estimate.version = 0
    await rejected(db, lambda: stub.UpdateShipment(estimate), Code.FAILED_PRECONDITION, shipments=(s.id,))
    assert await event_names(db, s.id) == ["ShipmentCreated", "ShipmentDispatched", "ShipmentDelivered"]
