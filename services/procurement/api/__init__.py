"""The ProcurementService gRPC API, one module per concern, composed into one servicer."""

from __future__ import annotations

import grpc
from erp.procurement.v1 import procurement_service_pb2_grpc as api_grpc

from services.procurement.api.lifecycle import LifecycleApi
from services.procurement.api.orders import OrdersApi
from services.procurement.api.performance import PerformanceApi
from services.procurement.api.receiving import ReceivingApi
from services.procurement.api.vendors import VendorsApi
from services.procurement.config import ProcurementConfig
from services.runtime.service import ServiceDeps


class ProcurementApi(
    VendorsApi, OrdersApi, LifecycleApi, ReceivingApi, PerformanceApi, api_grpc.ProcurementServiceServicer
):
    """Every RPC of erp.procurement.v1.ProcurementService."""


def register(deps: ServiceDeps, server: grpc.aio.Server) -> None:
    """Wire the servicer; the approval threshold (ERP_PO_APPROVAL_THRESHOLD) is read here, once."""
    api_grpc.add_ProcurementServiceServicer_to_server(ProcurementApi(deps, ProcurementConfig.from_env()), server)
