"""The AccountingService gRPC servicer, composed of one part per concept."""

from __future__ import annotations

import grpc
from erp.accounting.v1 import accounting_service_pb2_grpc as api_grpc

from services.accounting.api_accounts import AccountsApi
from services.accounting.api_journal import JournalApi
from services.accounting.api_periods import PeriodsApi
from services.accounting.api_reports import ReportsApi
from services.runtime.service import ServiceDeps


class AccountingApi(AccountsApi, JournalApi, ReportsApi, PeriodsApi, api_grpc.AccountingServiceServicer):
    """Chart of accounts, journal, ledger and reports, fiscal periods (accounting_db)."""


def register(deps: ServiceDeps, server: grpc.aio.Server) -> None:
    api_grpc.add_AccountingServiceServicer_to_server(AccountingApi(deps), server)
