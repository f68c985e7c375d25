"""The InventoryService gRPC servicer, composed of one part per concept."""

from __future__ import annotations

import grpc
from erp.inventory.v1 import inventory_service_pb2_grpc as api_grpc

from services.inventory.api_items import ItemsApi
from services.inventory.api_reservations import ReservationsApi
from services.inventory.api_stock import StockApi
from services.inventory.api_valuation import ValuationApi
from services.runtime.service import ServiceDeps


class InventoryApi(ItemsApi, StockApi, ReservationsApi, ValuationApi, api_grpc.InventoryServiceServicer):
    """Items, stock movements, reservations and valuation snapshots (inventory_db)."""


def register(deps: ServiceDeps, server: grpc.aio.Server) -> None:
    api_grpc.add_InventoryServiceServicer_to_server(InventoryApi(deps), server)
