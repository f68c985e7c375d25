"""Root query fields over the procurement service: vendors and purchase orders."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry
from erp.procurement.v1 import procurement_pb2 as pb
from erp.procurement.v1 import procurement_service_pb2 as api

from gateway.context import GatewayInfo
from gateway.pagination import Connection, ServicePage, remote_connection
from gateway.types.purchase_order import ORDER_STATUS, PurchaseOrder, PurchaseOrderStatus
from gateway.types.vendor import VENDOR_STATUS, Vendor, VendorStatus
from services.runtime.convert import date_to_pb, decimal_to_pb


@strawberry.input(description="Vendors matching all the given criteria.")
class VendorFilter:
    statuses: list[VendorStatus] | None = None
    query: str | None = strawberry.field(default=None, description="Case-insensitive match on name or e-mail.")
    min_rating: Decimal | None = None


@strawberry.input(description="Purchase orders matching all the given criteria.")
class PurchaseOrderFilter:
    vendor_ids: list[strawberry.ID] | None = None
    statuses: list[PurchaseOrderStatus] | None = None
    order_date_from: date | None = None
    order_date_to: date | None = None
    requesting_department: str | None = None
    sku: str | None = strawberry.field(default=None, description="Orders with a line of this SKU.")
    po_number: str | None = None


@strawberry.type
class ProcurementQueries:
    @strawberry.field(description="One vendor; NOT_FOUND when the id names none.")
    async def vendor(self, info: GatewayInfo, id: strawberry.ID) -> Vendor | None:
        request = api.GetVendorRequest(id=id)
        vendor = (await info.context.clients.procurement.call(lambda s: s.GetVendor(request))).vendor
        info.context.loaders.remember([vendor])
        return Vendor.from_proto(vendor)

    @strawberry.field(description="Vendors (the procurement service's order).")
    async def vendors(
        self,
        info: GatewayInfo,
        filter: VendorFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Vendor]:
        f = filter or VendorFilter()

        async def fetch(size: int, token: str) -> ServicePage[pb.Vendor]:
            request = api.ListVendorsRequest(
                page_size=size,
                page_token=token,
                statuses=VENDOR_STATUS.to_pb_list(f.statuses),
                query=f.query or "",
                min_rating=decimal_to_pb(f.min_rating),
            )
            response = await info.context.clients.procurement.call(lambda s: s.ListVendors(request))
            info.context.loaders.remember(response.vendors)
            return ServicePage(response.vendors, response.next_page_token, response.total_size)

        return await remote_connection(fetch, Vendor.from_proto, first, after)

    @strawberry.field(description="One purchase order with its items; NOT_FOUND when the id names none.")
    async def purchase_order(self, info: GatewayInfo, id: strawberry.ID) -> PurchaseOrder | None:
        request = api.GetPurchaseOrderRequest(id=id)
        order = (await info.context.clients.procurement.call(lambda s: s.GetPurchaseOrder(request))).purchase_order
        info.context.loaders.remember([order])
        return PurchaseOrder.from_proto(order)

    @strawberry.field(description="Purchase orders with their items (the procurement service's order).")
    async def purchase_orders(
        self,
        info: GatewayInfo,
        filter: PurchaseOrderFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[PurchaseOrder]:
        f = filter or PurchaseOrderFilter()

        async def fetch(size: int, token: str) -> ServicePage[pb.PurchaseOrder]:
            request = api.ListPurchaseOrdersRequest(
                page_size=size,
                page_token=token,
                vendor_ids=list(f.vendor_ids or ()),
                statuses=ORDER_STATUS.to_pb_list(f.statuses),
                order_date_from=date_to_pb(f.order_date_from),
                order_date_to=date_to_pb(f.order_date_to),
                requesting_department=f.requesting_department or "",
                sku=f.sku or "",
                po_number=f.po_number or "",
            )
            response = await info.context.clients.procurement.call(lambda s: s.ListPurchaseOrders(request))
            info.context.loaders.remember(response.purchase_orders)
            return ServicePage(response.purchase_orders, response.next_page_token, response.total_size)

        return await remote_connection(fetch, PurchaseOrder.from_proto, first, after)
