"""The SupplyChainService gRPC API, one module per concern, composed into one servicer."""

from __future__ import annotations

import grpc
from erp.supply_chain.v1 import supply_chain_service_pb2_grpc as api_grpc

from services.runtime.service import ServiceDeps
from services.supply_chain.api.lifecycle import LifecycleApi
from services.supply_chain.api.performance import PerformanceApi
from services.supply_chain.api.shipments import ShipmentsApi
from services.supply_chain.api.tracking import TrackingApi


class SupplyChainApi(ShipmentsApi, LifecycleApi, TrackingApi, PerformanceApi, api_grpc.SupplyChainServiceServicer):
    """Every RPC of erp.supply_chain.v1.SupplyChainService."""


def register(deps: ServiceDeps, server: grpc.aio.Server) -> None:
    api_grpc.add_SupplyChainServiceServicer_to_server(SupplyChainApi(deps), server)
