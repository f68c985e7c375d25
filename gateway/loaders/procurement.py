"""Loaders over the procurement service: vendors and purchase orders by id, the orders of
vendors and each vendor's performance history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from erp.procurement.v1 import procurement_pb2 as pb
from erp.procurement.v1 import procurement_service_pb2 as api
from strawberry.dataloader import DataLoader

from gateway.clients import Clients
from gateway.loaders.batch import MAX_BATCH, Page, by_key, grouped


@dataclass
class ProcurementLoaders:
    clients: Clients
    vendors: DataLoader[str, pb.Vendor | None] = field(init=False)
    purchase_orders: DataLoader[str, pb.PurchaseOrder | None] = field(init=False)
    vendor_orders: DataLoader[str, list[pb.PurchaseOrder]] = field(init=False)
    vendor_performance: DataLoader[str, list[pb.VendorPerformance]] = field(init=False)

    def __post_init__(self) -> None:
        self.vendors = by_key(self._vendors, lambda v: v.id)
        self.purchase_orders = by_key(self._purchase_orders, lambda o: o.id)
        self.vendor_orders = grouped(self._orders_of_vendors, lambda o: o.vendor_id)
        self.vendor_performance = grouped(self._performance_of_vendors, lambda p: p.vendor_id)

    async def _vendors(self, ids: list[str]) -> Sequence[pb.Vendor]:
        request = api.BatchGetVendorsRequest(ids=ids)
        return (await self.clients.procurement.call(lambda s: s.BatchGetVendors(request))).vendors

    async def _purchase_orders(self, ids: list[str]) -> Sequence[pb.PurchaseOrder]:
        """With their items."""
        request = api.BatchGetPurchaseOrdersRequest(ids=ids)
        return (await self.clients.procurement.call(lambda s: s.BatchGetPurchaseOrders(request))).purchase_orders

    async def _orders_of_vendors(self, vendor_ids: list[str], token: str) -> Page[pb.PurchaseOrder]:
        request = api.ListPurchaseOrdersRequest(vendor_ids=vendor_ids, page_size=MAX_BATCH, page_token=token)
        response = await self.clients.procurement.call(lambda s: s.ListPurchaseOrders(request))
        self.purchase_orders.prime_many({o.id: o for o in response.purchase_orders})
        return response.purchase_orders, response.next_page_token

    async def _performance_of_vendors(self, vendor_ids: list[str], token: str) -> Page[pb.VendorPerformance]:
        """Newest first."""
        request = api.ListVendorPerformanceRequest(vendor_ids=vendor_ids, page_size=MAX_BATCH, page_token=token)
        response = await self.clients.procurement.call(lambda s: s.ListVendorPerformance(request))
        return response.vendor_performance, response.next_page_token
