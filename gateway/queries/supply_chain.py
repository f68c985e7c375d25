"""Root query fields over the supply chain service: shipments."""

from __future__ import annotations

import strawberry
from erp.supply_chain.v1 import supply_chain_pb2 as pb
from erp.supply_chain.v1 import supply_chain_service_pb2 as api

from gateway.context import GatewayInfo
from gateway.pagination import Connection, ServicePage, remote_connection
from gateway.types.shipment import SHIPMENT_STATUS, Shipment, ShipmentStatus


@strawberry.input(description="Shipments matching all the given criteria.")
class ShipmentFilter:
    statuses: list[ShipmentStatus] | None = None
    carriers: list[str] | None = None
    tracking_number: str | None = None
    sku: str | None = strawberry.field(default=None, description="Shipments with a line of this SKU.")
    order_ids: list[str] | None = None


@strawberry.type
class SupplyChainQueries:
    @strawberry.field(description="One shipment; NOT_FOUND when the id names none.")
    async def shipment(self, info: GatewayInfo, id: strawberry.ID) -> Shipment | None:
        request = api.GetShipmentRequest(id=id)
        shipment = (await info.context.clients.supply_chain.call(lambda s: s.GetShipment(request))).shipment
        info.context.loaders.remember([shipment])
        return Shipment.from_proto(shipment)

    @strawberry.field(description="Shipments matching the filter.")
    async def shipments(
        self,
        info: GatewayInfo,
        filter: ShipmentFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Shipment]:
        f = filter or ShipmentFilter()

        async def fetch(size: int, token: str) -> ServicePage[pb.Shipment]:
            request = api.ListShipmentsRequest(
                page_size=size,
                page_token=token,
                statuses=SHIPMENT_STATUS.to_pb_list(f.statuses),
                carriers=list(f.carriers or ()),
                tracking_number=f.tracking_number or "",
                sku=f.sku or "",
                order_ids=list(f.order_ids or ()),
            )
            response = await info.context.clients.supply_chain.call(lambda s: s.ListShipments(request))
            info.context.loaders.remember(response.shipments)
            return ServicePage(response.shipments, response.next_page_token, response.total_size)

        return await remote_connection(fetch, Shipment.from_proto, first, after)
