"""The FinanceService gRPC servicer, composed of one part per concept."""

from __future__ import annotations

import grpc
from erp.finance.v1 import finance_service_pb2_grpc as api_grpc

from services.finance.api_budgets import BudgetsApi
from services.finance.api_reports import ReportsApi
from services.finance.api_spend import SpendApi
from services.runtime.service import ServiceDeps


class FinanceApi(BudgetsApi, SpendApi, ReportsApi, api_grpc.FinanceServiceServicer):
    """Budgets, spending, financial reports and the accounting cache (finance_db)."""


def register(deps: ServiceDeps, server: grpc.aio.Server) -> None:
    api_grpc.add_FinanceServiceServicer_to_server(FinanceApi(deps), server)
