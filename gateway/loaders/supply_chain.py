"""Loaders over the supply chain service: shipments by id (with their items) and the tracking
history of shipments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from erp.supply_chain.v1 import supply_chain_pb2 as pb
from erp.supply_chain.v1 import supply_chain_service_pb2 as api
from strawberry.dataloader import DataLoader

from gateway.clients import Clients
from gateway.loaders.batch import MAX_BATCH, Page, by_key, forget, grouped


@dataclass
class SupplyChainLoaders:
    clients: Clients
    shipments: DataLoader[str, pb.Shipment | None] = field(init=False)
    tracking_history: DataLoader[str, list[pb.TrackingEvent]] = field(init=False)

    def __post_init__(self) -> None:
        self.shipments = by_key(self._shipments, lambda s: s.id)
        self.tracking_history = grouped(self._history_of_shipments, lambda e: e.shipment_id)

    def history_changed(self, shipment_id: str) -> None:
        """After a command: the shipment's tracking history is read again when asked for."""
        forget(self.tracking_history, shipment_id)

    async def _shipments(self, ids: list[str]) -> Sequence[pb.Shipment]:
        request = api.BatchGetShipmentsRequest(ids=ids)
        return (await self.clients.supply_chain.call(lambda s: s.BatchGetShipments(request))).shipments

    async def _history_of_shipments(self, shipment_ids: list[str], token: str) -> Page[pb.TrackingEvent]:
        request = api.ListTrackingHistoryRequest(shipment_ids=shipment_ids, page_size=MAX_BATCH, page_token=token)
        response = await self.clients.supply_chain.call(lambda s: s.ListTrackingHistory(request))
        return response.tracking_events, response.next_page_token
