"""The BillingService gRPC API, one module per concern, composed into one servicer."""

from __future__ import annotations

import grpc
from erp.billing.v1 import billing_service_pb2_grpc as api_grpc

from services.billing.api.customers import CustomersApi
from services.billing.api.drafts import DraftsApi
from services.billing.api.invoices import InvoicesApi
from services.billing.api.lifecycle import LifecycleApi
from services.billing.api.reports import ReportsApi
from services.billing.api.settlements import SettlementsApi
from services.runtime.service import ServiceDeps


class BillingApi(
    CustomersApi,
    InvoicesApi,
    DraftsApi,
    LifecycleApi,
    SettlementsApi,
    ReportsApi,
    api_grpc.BillingServiceServicer,
):
    """Every RPC of erp.billing.v1.BillingService."""


def register(deps: ServiceDeps, server: grpc.aio.Server) -> None:
    api_grpc.add_BillingServiceServicer_to_server(BillingApi(deps), server)
