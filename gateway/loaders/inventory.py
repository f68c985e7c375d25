"""Loaders over the inventory service: items by id and by SKU, and each item's movements and
reservations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from erp.inventory.v1 import inventory_pb2 as pb
from erp.inventory.v1 import inventory_service_pb2 as api
from strawberry.dataloader import DataLoader

from gateway.clients import Clients
from gateway.loaders.batch import MAX_BATCH, Page, by_key, forget, grouped


@dataclass
class InventoryLoaders:
    clients: Clients
    items: DataLoader[str, pb.InventoryItem | None] = field(init=False)
    items_by_sku: DataLoader[str, pb.InventoryItem | None] = field(init=False)
    item_movements: DataLoader[str, list[pb.StockMovement]] = field(init=False)
    item_reservations: DataLoader[str, list[pb.StockReservation]] = field(init=False)

    def __post_init__(self) -> None:
        self.items = by_key(self._items, lambda i: i.id)
        self.items_by_sku = by_key(self._items_by_sku, lambda i: i.sku, uuid_keys=False)
        self.item_movements = grouped(self._movements_of_items, lambda m: m.item_id)
        self.item_reservations = grouped(self._reservations_of_items, lambda r: r.item_id)

    def stock_changed(self, item_id: str, *, item: bool = False) -> None:
        """After a stock command: the item's movements and reservations (and the item itself when
        the command did not return it) are read again if asked."""
        forget(self.item_movements, item_id)
        forget(self.item_reservations, item_id)
        if item:
            forget(self.items, item_id)

    async def _items(self, ids: list[str]) -> Sequence[pb.InventoryItem]:
        request = api.BatchGetInventoryItemsRequest(ids=ids)
        return (await self.clients.inventory.call(lambda s: s.BatchGetInventoryItems(request))).inventory_items

    async def _items_by_sku(self, skus: list[str]) -> Sequence[pb.InventoryItem]:
        request = api.BatchGetInventoryItemsBySkuRequest(skus=skus)
        return (await self.clients.inventory.call(lambda s: s.BatchGetInventoryItemsBySku(request))).inventory_items

    async def _movements_of_items(self, item_ids: list[str], token: str) -> Page[pb.StockMovement]:
        """Newest first."""
        request = api.ListStockMovementsRequest(item_ids=item_ids, page_size=MAX_BATCH, page_token=token)
        response = await self.clients.inventory.call(lambda s: s.ListStockMovements(request))
        return response.movements, response.next_page_token

    async def _reservations_of_items(self, item_ids: list[str], token: str) -> Page[pb.StockReservation]:
        """Newest first."""
        request = api.ListReservationsRequest(item_ids=item_ids, page_size=MAX_BATCH, page_token=token)
        response = await self.clients.inventory.call(lambda s: s.ListReservations(request))
        return response.reservations, response.next_page_token
