"""The other services as finance reads them over gRPC: accounting's reports, balances and journal,
the employee service's departments. Every call has the settings' deadline; a dependency that is
down or too slow is UNAVAILABLE (retry), a refusal is passed on as finance's own error."""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from datetime import date
from typing import TypeVar

import grpc
from erp.accounting.v1 import accounting_pb2 as acc_pb
from erp.accounting.v1 import accounting_service_pb2 as acc
from erp.accounting.v1 import accounting_service_pb2_grpc as acc_grpc
from erp.employee.v1 import employee_service_pb2 as emp
from erp.employee.v1 import employee_service_pb2_grpc as emp_grpc

from services.runtime.convert import date_to_pb
from services.runtime.errors import DomainError, FailedPrecondition, InvalidArgument, Unavailable

T = TypeVar("T")
PAGE_SIZE = 1000
RETRYABLE = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}
)
IN_LEDGER = (acc_pb.JOURNAL_ENTRY_STATUS_POSTED, acc_pb.JOURNAL_ENTRY_STATUS_REVERSED)


def _translate(service: str, exc: grpc.aio.AioRpcError) -> DomainError:
    code = exc.code()
    if code in RETRYABLE:
        return Unavailable(f"the {service} service is unavailable; retry shortly")
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument(f"the {service} service refused the request: {exc.details()}")
    return FailedPrecondition(f"the {service} service answered {code.name}: {exc.details()}")


async def _call(service: str, call: Awaitable[T]) -> T:
    try:
        return await call
    except grpc.aio.AioRpcError as exc:
        if exc.code() in RETRYABLE or exc.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND):
            raise _translate(service, exc) from None
        raise


class Accounting:
    """Accounting's figures; finance never computes a ledger figure of its own."""

    def __init__(self, channel: grpc.aio.Channel, deadline_s: float) -> None:
        self.stub = acc_grpc.AccountingServiceStub(channel)
        self.deadline_s = deadline_s

    async def income_statement(self, start: date, end: date) -> acc_pb.IncomeStatement:
        request = acc.GetIncomeStatementRequest(start_date=date_to_pb(start), end_date=date_to_pb(end))
        response = await _call("accounting", self.stub.GetIncomeStatement(request, timeout=self.deadline_s))
        return response.income_statement

    async def balance_sheet(self, as_of: date) -> acc_pb.BalanceSheet:
        request = acc.GetBalanceSheetRequest(as_of_date=date_to_pb(as_of))
        response = await _call("accounting", self.stub.GetBalanceSheet(request, timeout=self.deadline_s))
        return response.balance_sheet

    async def trial_balance(self, as_of: date) -> acc_pb.TrialBalance:
        request = acc.GetTrialBalanceRequest(as_of_date=date_to_pb(as_of))
        response = await _call("accounting", self.stub.GetTrialBalance(request, timeout=self.deadline_s))
        return response.trial_balance

    async def account_balance(self, code: str, as_of: date) -> acc_pb.AccountBalance:
        request = acc.GetAccountBalanceRequest(account_code=code, as_of_date=date_to_pb(as_of))
        response = await _call("accounting", self.stub.GetAccountBalance(request, timeout=self.deadline_s))
        return response.balance

    async def entries_on_account(self, code: str, start: date, end: date) -> list[acc_pb.JournalEntry]:
        """Every entry in the ledger (posted or reversed) with a line on `code`, dated in [start, end]."""
        out: list[acc_pb.JournalEntry] = []
        token = ""
        while True:
            request = acc.ListJournalEntriesRequest(
                account_code=code,
                start_date=date_to_pb(start),
                end_date=date_to_pb(end),
                statuses=IN_LEDGER,
                page_size=PAGE_SIZE,
                page_token=token,
            )
            page = await _call("accounting", self.stub.ListJournalEntries(request, timeout=self.deadline_s))
            out.extend(page.journal_entries)
            token = page.next_page_token
            if not token:
                return out

    async def accounts(self, codes: Iterable[str]) -> dict[str, acc_pb.Account]:
        wanted = sorted(set(codes))
        found: dict[str, acc_pb.Account] = {}
        for i in range(0, len(wanted), PAGE_SIZE):
            request = acc.BatchGetAccountsByCodeRequest(account_codes=wanted[i : i + PAGE_SIZE])
            response = await _call("accounting", self.stub.BatchGetAccountsByCode(request, timeout=self.deadline_s))
            found.update({a.account_code: a for a in response.accounts})
        return found


class Departments:
    """Department names as the employee service knows them."""

    def __init__(self, channel: grpc.aio.Channel, deadline_s: float) -> None:
        self.stub = emp_grpc.EmployeeServiceStub(channel)
        self.deadline_s = deadline_s

    async def exists(self, name: str) -> bool:
        request = emp.ListDepartmentsRequest(names=[name], page_size=1)
        response = await _call("employee", self.stub.ListDepartments(request, timeout=self.deadline_s))
        return any(d.name == name for d in response.departments)
