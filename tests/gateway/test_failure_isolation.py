"""One service down: partial data with errors naming it, then the circuit opens (no RPC at all
while it is open) and closes again once the service is back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import grpc
import httpx
import pytest
from erp.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from erp.procurement.v1 import procurement_service_pb2 as api
from erp.procurement.v1 import procurement_service_pb2_grpc as proc_grpc

from gateway.app import create_app
from gateway.breaker import CircuitBreaker, CircuitOpen, State
from gateway.call_policy import RPC_COUNTER
from gateway.config import GatewayConfig
from services.runtime.serve import load_definition
from services.runtime.service import RunningService, ServiceDefinition, start_service
from services.runtime.settings import Settings
from tests.gateway.conftest import _no_jobs
from tests.gateway.support import Gql, tag
from tests.gateway.test_procurement import stocked_item

QUERY = (
    """query($q: String!) { inventoryItems(filter: {query: $q}) { edges { node { sku preferredVendor { name } } } } }"""
)


@dataclass
class Throwaway:
    """A procurement instance of its own (same database and subject root, no consumers or jobs)
    that a test may stop and start again on the same port."""

    definition: ServiceDefinition
    settings: Settings
    port: int = 0
    running: RunningService | None = None

    async def start(self) -> None:
        self.running = await start_service(self.definition, self.settings, port=self.port)
        self.port = self.running.server.port

    async def stop(self) -> None:
        if self.running is not None:
            await self.running.shutdown()
            self.running = None


@pytest.fixture
async def throwaway_procurement(gateway_settings: Settings, own_streams: None) -> AsyncIterator[Throwaway]:
    definition = replace(load_definition("procurement"), background=_no_jobs, handlers=lambda deps: {})
    throwaway = Throwaway(definition, gateway_settings)
    await throwaway.start()
    yield throwaway
    await throwaway.stop()


def preferred_vendors(body: dict[str, Any]) -> list[Any]:
    return [e["node"]["preferredVendor"] for e in body["data"]["inventoryItems"]["edges"]]


async def test_partial_data_then_open_circuit_then_recovery(
    gateway_settings: Settings,
    throwaway_procurement: Throwaway,
    procurement: proc_grpc.ProcurementServiceStub,
    inventory: inv_grpc.InventoryServiceStub,
) -> None:
    prefix = f"Iso {tag()}"
    vendor = (
        await procurement.CreateVendor(api.CreateVendorRequest(name=prefix, email=f"iso-{tag()}@example.com"))
    ).vendor
    items = [await stocked_item(inventory, vendor.id) for _ in range(3)]
    for item in items:  # stocked_item names them GWP-<tag>; the filter matches on the SKU
        assert item.preferred_vendor_id == vendor.id
    settings = replace(
        gateway_settings,
        grpc_ports={**gateway_settings.grpc_ports, "procurement": throwaway_procurement.port},
        rpc_deadline_s=2.0,
    )
    app = create_app(settings, GatewayConfig(breaker_failures=2, breaker_cooldown_s=1.0))
    skus = {i.sku for i in items}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client,
    ):
        gql = Gql(client)

        async def ask() -> dict[str, Any]:
            body: dict[str, Any] = {"data": None, "errors": []}
            for sku in skus:  # one item per request keeps the failure count per request at one RPC
                part = await gql.raw(QUERY, {"q": sku})
                edges = part["data"]["inventoryItems"]["edges"]
                if body["data"] is None:
                    body["data"] = {"inventoryItems": {"edges": []}}
                body["data"]["inventoryItems"]["edges"] += edges
                body["errors"] += part.get("errors") or []
            return body

        healthy = await gql.raw(QUERY, {"q": items[0].sku})
        assert preferred_vendors(healthy) == [{"name": prefix}]

        await throwaway_procurement.stop()
        down = await gql.raw(QUERY, {"q": items[0].sku})
        # The inventory data is there; only the field the procurement service answers is null.
        assert [e["node"]["sku"] for e in down["data"]["inventoryItems"]["edges"]] == [items[0].sku]
        assert preferred_vendors(down) == [None]
        [error] = down["errors"]
        assert error["path"] == ["inventoryItems", "edges", 0, "node", "preferredVendor"]
        assert error["extensions"] == {"code": "UNAVAILABLE", "service": "procurement", "grpcStatus": "UNAVAILABLE"}

        await gql.raw(QUERY, {"q": items[1].sku})  # the second failure in a row opens the circuit
        assert app.state.clients.breaker("procurement").state is State.OPEN

        RPC_COUNTER.reset()
        skipped = await ask()
        rpcs = RPC_COUNTER.by_name()
        assert "BatchGetVendors" not in rpcs  # not even attempted while open
        assert rpcs["ListInventoryItems"] == 3
        assert sorted(e["node"]["sku"] for e in skipped["data"]["inventoryItems"]["edges"]) == sorted(skus)
        assert preferred_vendors(skipped) == [None, None, None]
        assert {e["extensions"]["code"] for e in skipped["errors"]} == {"SERVICE_UNAVAILABLE"}
        assert {e["extensions"]["service"] for e in skipped["errors"]} == {"procurement"}
        assert {e["extensions"]["grpcStatus"] for e in skipped["errors"]} == {"UNAVAILABLE"}

        await throwaway_procurement.start()  # the same port: the gateway's channel finds it again
        recovered: dict[str, Any] = {}
        for _ in range(80):  # the cool-down (1 s), then the half-open probe succeeds
            recovered = await gql.raw(QUERY, {"q": items[2].sku})
            if not recovered.get("errors"):
                break
            await asyncio.sleep(0.25)
        assert preferred_vendors(recovered) == [{"name": prefix}]
        assert app.state.clients.breaker("procurement").state is State.CLOSED


def test_the_breaker_opens_half_opens_and_closes() -> None:
    now = [0.0]
    breaker = CircuitBreaker("billing", failures=3, cooldown_s=10.0, clock=lambda: now[0])
    for _ in range(2):
        breaker.before_call()
        breaker.on_result(grpc.StatusCode.UNAVAILABLE)
    breaker.before_call()
    breaker.on_result(grpc.StatusCode.NOT_FOUND)  # an answer: the service is up, the count restarts
    for _ in range(3):
        breaker.before_call()
        breaker.on_result(grpc.StatusCode.DEADLINE_EXCEEDED)
    assert breaker.state is State.OPEN
    with pytest.raises(CircuitOpen) as refused:
        breaker.before_call()
    assert refused.value.retry_after_s == 10.0

    now[0] = 10.0
    breaker.before_call()  # the probe
    assert breaker.state is State.HALF_OPEN
    with pytest.raises(CircuitOpen):
        breaker.before_call()  # only one probe at a time
    breaker.on_result(grpc.StatusCode.UNAVAILABLE)
    assert breaker.state is State.OPEN  # the probe failed: another cool-down

    now[0] = 20.0
    breaker.before_call()
    breaker.abandoned()  # a cancelled probe does not block the next one
    breaker.before_call()
    breaker.on_result(grpc.StatusCode.OK)
    assert breaker.state is State.CLOSED
    breaker.before_call()
    assert breaker.rejected == 2
