"""Root query fields over the inventory service: items."""

from __future__ import annotations

import strawberry
from erp.inventory.v1 import inventory_pb2 as pb
from erp.inventory.v1 import inventory_service_pb2 as api

from gateway.context import GatewayInfo
from gateway.errors import bad_input
from gateway.pagination import Connection, ServicePage, remote_connection
from gateway.types.inventory_item import ITEM_STATUS, InventoryItem, InventoryItemStatus


@strawberry.input(description="Inventory items matching all the given criteria.")
class InventoryItemFilter:
    categories: list[str] | None = None
    statuses: list[InventoryItemStatus] | None = None
    query: str | None = strawberry.field(default=None, description="Case-insensitive match on SKU or name.")
    at_or_below_reorder_point: bool | None = strawberry.field(
        default=None, description="Only items whose available quantity is at or below their reorder point."
    )
    preferred_vendor_ids: list[strawberry.ID] | None = None
    warehouse_location: str | None = None


@strawberry.type
class InventoryQueries:
    @strawberry.field(
        description="One item by `id` (NOT_FOUND when it names none) or by `sku` (null when it names none)."
    )
    async def inventory_item(
        self, info: GatewayInfo, id: strawberry.ID | None = None, sku: str | None = None
    ) -> InventoryItem | None:
        if (id is None) == (sku is None):
            raise bad_input("id", "give exactly one of id and sku")
        if id is None:
            message = await info.context.loaders.inventory.items_by_sku.load(sku or "")
            return None if message is None else InventoryItem.from_proto(message)
        request = api.GetInventoryItemRequest(id=id)
        item = (await info.context.clients.inventory.call(lambda s: s.GetInventoryItem(request))).inventory_item
        info.context.loaders.remember([item])
        return InventoryItem.from_proto(item)

    @strawberry.field(description="Inventory items, ordered by SKU.")
    async def inventory_items(
        self,
        info: GatewayInfo,
        filter: InventoryItemFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[InventoryItem]:
        f = filter or InventoryItemFilter()

        async def fetch(size: int, token: str) -> ServicePage[pb.InventoryItem]:
            request = api.ListInventoryItemsRequest(
                page_size=size,
                page_token=token,
                categories=list(f.categories or ()),
                statuses=ITEM_STATUS.to_pb_list(f.statuses),
                query=f.query or "",
                at_or_below_reorder_point=bool(f.at_or_below_reorder_point),
                preferred_vendor_ids=list(f.preferred_vendor_ids or ()),
                warehouse_location=f.warehouse_location or "",
            )
            response = await info.context.clients.inventory.call(lambda s: s.ListInventoryItems(request))
            info.context.loaders.remember(response.inventory_items)
            return ServicePage(response.inventory_items, response.next_page_token, response.total_size)

        return await remote_connection(fetch, InventoryItem.from_proto, first, after)
