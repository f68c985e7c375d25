"""The PayrollService gRPC API, one module per concern, composed into one servicer."""

from __future__ import annotations

import grpc
from erp.payroll.v1 import payroll_service_pb2_grpc as api_grpc

from services.payroll.api.cache import CacheApi
from services.payroll.api.lifecycle import LifecycleApi
from services.payroll.api.records import RecordsApi
from services.payroll.api.runs import RunsApi
from services.payroll.api.tax_rates import TaxRatesApi
from services.payroll.config import PayrollConfig
from services.runtime.service import ServiceDeps


class PayrollApi(RecordsApi, RunsApi, LifecycleApi, TaxRatesApi, CacheApi, api_grpc.PayrollServiceServicer):
    """Every RPC of erp.payroll.v1.PayrollService."""


def register(deps: ServiceDeps, server: grpc.aio.Server) -> None:
    api_grpc.add_PayrollServiceServicer_to_server(PayrollApi(deps, PayrollConfig.from_env()), server)
