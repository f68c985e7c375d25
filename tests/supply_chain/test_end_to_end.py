"""Deliveries end to end through the real supply chain, inventory and procurement services, on
databases (prefix erptest_sc_) and subjects of their own:

- outbound: an order's reservation is fulfilled when its shipment is delivered (on hand and
  reserved fall, one FULFILLMENT movement, ReservationFulfilled for accounting), exactly once
  even when ShipmentDelivered is published again, with its own id or with a new one;
- inbound: the purchase order gets the carrier's delivery date.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import asyncpg
import grpc
import pytest
from erp.inventory.v1 import inventory_pb2 as inv_pb
from erp.inventory.v1 import inventory_service_pb2 as inv
from erp.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from erp.procurement.v1 import procurement_service_pb2 as proc
from erp.procurement.v1 import procurement_service_pb2_grpc as proc_grpc
from erp.supply_chain.v1 import supply_chain_pb2 as pb
from nats.aio.client import Client

from services.ops.embedded import free_port
from services.runtime.events import H_ID, H_MSG_ID
from services.runtime.jetstream import connect, ensure_streams
from services.runtime.migrations import ensure_databases, upgrade
from services.runtime.serve import load_definition
from services.runtime.service import BackgroundJob, RunningService, ServiceDeps, start_service
from services.runtime.settings import SERVICES, Settings, to_libpq_url
from tests.inventory import helpers as inventory
from tests.procurement import helpers as procurement
from tests.runtime.helpers import eventually
from tests.supply_chain.helpers import Stub, at, create, deliver, dispatch, item

pytestmark = pytest.mark.slow
RUNNING = ("supply_chain", "inventory", "procurement")


def _no_jobs(deps: ServiceDeps) -> list[BackgroundJob]:
    return []


@dataclass
class System:
    settings: Settings
    nats: Client
    services: dict[str, RunningService]
    channels: dict[str, grpc.aio.Channel]
    conns: dict[str, asyncpg.Connection]

    def supply_chain(self) -> Stub:
        return Stub(self.channels["supply_chain"])

    def inventory(self) -> inv_grpc.InventoryServiceStub:
        return inv_grpc.InventoryServiceStub(self.channels["inventory"])

    def procurement(self) -> proc_grpc.ProcurementServiceStub:
        return proc_grpc.ProcurementServiceStub(self.channels["procurement"])

    async def result(self, service: str, event_id: uuid.UUID) -> dict[str, Any]:
        """The handler result once `service` has applied the event."""

        async def check() -> Any:
            return await self.conns[service].fetchrow(
                "SELECT result::text AS result FROM processed_events WHERE event_id = $1", event_id
            )

        row = await eventually(check, timeout_s=20)
        loaded: dict[str, Any] = json.loads(row["result"])
        return loaded


@pytest.fixture(scope="module")
async def system(settings: Settings) -> AsyncIterator[System]:
    own = replace(
        settings,
        database_prefix="erptest_sc_",
        subject_root=settings.subject_root + "sc",
        grpc_ports={s: free_port() for s in SERVICES},
    )
    await ensure_databases(own, list(RUNNING))
    for name in RUNNING:  # one at a time: Alembic's context is process-global
        await asyncio.to_thread(upgrade, own, name)
    nc = await connect(own.require_nats_url(), "supply-chain-e2e")
    await ensure_streams(nc.jetstream(), own.subject_root)
    s = System(own, nc, {}, {}, {})
    for name in RUNNING:
        s.services[name] = await start_service(replace(load_definition(name), background=_no_jobs), own)
        s.channels[name] = grpc.aio.insecure_channel(own.grpc_address(name))
        s.conns[name] = await asyncpg.connect(to_libpq_url(own.service_database_url(name)))
    yield s
    for name in RUNNING:
        await s.services[name].shutdown()
        await s.channels[name].close()
        await s.conns[name].close()
    await nc.close()


async def _published_delivery(s: System, shipment_id: str) -> asyncpg.Record:
    """ShipmentDelivered as the supply chain's relay published it (waits for the relay)."""

    async def published() -> Any:
        return await s.conns["supply_chain"].fetchrow(
            "SELECT * FROM outbox WHERE aggregate_id = $1 AND event_type = $2 AND published_at IS NOT NULL",
            shipment_id,
            "erp.supply_chain.v1.ShipmentDelivered",
        )

    row: asyncpg.Record = await eventually(published)
    return row


async def _republish(s: System, row: asyncpg.Record, event_id: uuid.UUID) -> None:
    """The same message again under `event_id`, past JetStream's duplicate window."""
    headers = dict(json.loads(row["headers"]) if isinstance(row["headers"], str) else row["headers"])
    headers[H_ID] = str(event_id)
    headers[H_MSG_ID] = f"{event_id}.again.{uuid.uuid4()}"
    await s.nats.jetstream().publish(row["subject"], bytes(row["payload"]), headers=headers)


async def test_outbound_delivery_fulfils_the_order_exactly_once(system: System) -> None:
    stock = await inventory.create_item(system.inventory(), quantity_on_hand=10, unit_cost=inventory.dec("5.00"))
    order_id = str(uuid.uuid4())
    reservation = (await inventory.reserve(system.inventory(), stock.id, 3, order_id=order_id)).reservation

    shipment = await create(system.supply_chain(), order_id=order_id, items=[item(stock.sku, 3)])
    shipment = await dispatch(system.supply_chain(), shipment, at(2025, 3, 3, 8))
    await deliver(system.supply_chain(), shipment, at(2025, 3, 6, 15))

    row = await _published_delivery(system, shipment.id)
    first = await system.result("inventory", row["event_id"])
    assert [f["reservation_id"] for f in first["fulfilled"]] == [reservation.id]

    # Published again: with its own id (a redelivery), then with a new one (a second announcement).
    await _republish(system, row, row["event_id"])
    second_id = uuid.uuid4()
    await _republish(system, row, second_id)
    second = await system.result("inventory", second_id)
    assert (second["fulfilled"], second["noop"]) == ([], "the order is already fulfilled")

    item_now = await inventory.get_item(system.inventory(), stock.id)
    assert (item_now.quantity_on_hand, item_now.quantity_reserved) == (7, 0)
    movements = await system.conns["inventory"].fetch(
        "SELECT quantity, reference FROM stock_movements WHERE item_id = $1 AND movement_type = 'fulfillment'",
        uuid.UUID(stock.id),
    )
    assert [(m["quantity"], m["reference"]) for m in movements] == [(-3, order_id)]
    listed = await system.inventory().ListReservations(inv.ListReservationsRequest(order_id=order_id))
    assert [r.status for r in listed.reservations] == [inv_pb.STOCK_RESERVATION_STATUS_FULFILLED]
    fulfilled = await system.conns["inventory"].fetchval(
        "SELECT count(*) FROM outbox WHERE event_type = 'erp.inventory.v1.ReservationFulfilled' AND aggregate_id = $1",
        reservation.id,
    )
    assert fulfilled == 1
    ignored = await system.result("procurement", row["event_id"])
    assert ignored["ignored"] == "not an inbound shipment"


async def test_delivery_of_an_order_with_nothing_reserved_is_a_recorded_noop(system: System) -> None:
    shipment = await create(system.supply_chain(), items=[item("SKU-NOT-RESERVED", 1)])
    await deliver(system.supply_chain(), await dispatch(system.supply_chain(), shipment))
    row = await _published_delivery(system, shipment.id)
    result = await system.result("inventory", row["event_id"])
    assert (result["fulfilled"], result["noop"]) == ([], "the order has no reservations")


async def test_inbound_delivery_dates_the_purchase_order(system: System) -> None:
    stub = system.procurement()
    vendor = await procurement.create_vendor(stub)
    po = await procurement.ordered_order(stub, vendor.id)
    assert not po.HasField("actual_delivery_date")

    shipment = await create(
        system.supply_chain(), order_id=po.id, shipment_type=pb.SHIPMENT_TYPE_INBOUND, items=[item(po.items[0].sku, 10)]
    )
    shipment = await dispatch(system.supply_chain(), shipment, at(2025, 3, 10, 8))
    await deliver(system.supply_chain(), shipment, at(2025, 3, 14, 16))
    row = await _published_delivery(system, shipment.id)
    result = await system.result("procurement", row["event_id"])
    assert result["actual_delivery_date"] == "2025-03-14"
    dated = (await stub.GetPurchaseOrder(proc.GetPurchaseOrderRequest(id=po.id))).purchase_order
    assert (dated.actual_delivery_date.year, dated.actual_delivery_date.month, dated.actual_delivery_date.day) == (
        2025,
        3,
        14,
    )
    assert (dated.status, dated.version) == (po.status, po.version + 1)
    # Inventory leaves inbound shipments to procurement; a second delivery date does not overwrite.
    assert (await system.result("inventory", row["event_id"]))["ignored"] == "not an outbound shipment"
    again = uuid.uuid4()
    await _republish(system, row, again)
    assert (await system.result("procurement", again))["unchanged"] == "2025-03-14"
