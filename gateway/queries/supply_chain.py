"""Root query fields over the supply chain service: shipments and carrier performance."""

from __future__ import annotations

from datetime import date

import strawberry
from erp.supply_chain.v1 import supply_chain_pb2 as pb
from erp.supply_chain.v1 import supply_chain_service_pb2 as api

from gateway.context import GatewayInfo
from gateway.pagination import Connection, ServicePage, remote_connection
from gateway.types.carrier_performance import CarrierPerformanceReport
from gateway.types.shipment import SHIPMENT_STATUS, Shipment, ShipmentStatus
from services.runtime.convert import date_to_pb


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

    @strawberry.field(description="A carrier's delivery performance from `startDate` to `endDate` (inclusive).")
    async def carrier_performance(
        self, info: GatewayInfo, carrier: str, start_date: date, end_date: date
    ) -> CarrierPerformanceReport | None:
        request = api.GetCarrierPerformanceRequest(
            carrier=carrier, start_date=date_to_pb(start_date), end_date=date_to_pb(end_date)
        )
        response = await info.context.clients.supply_chain.call(lambda s: s.GetCarrierPerformance(request))
        return CarrierPerformanceReport.from_proto(response)
