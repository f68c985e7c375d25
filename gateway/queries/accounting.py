"""Root query fields over the accounting service: the chart of accounts, journal entries,
fiscal periods and the reports."""

from __future__ import annotations

from datetime import date

import strawberry
from erp.accounting.v1 import accounting_pb2 as pb
from erp.accounting.v1 import accounting_service_pb2 as api

from gateway.context import GatewayInfo
from gateway.pagination import Connection, ServicePage, remote_connection
from gateway.types.account import ACCOUNT_TYPE, Account, AccountType
from gateway.types.account_balance import AccountBalance
from gateway.types.balance_sheet import BalanceSheet
from gateway.types.fiscal_period import PERIOD_STATUS, FiscalPeriod, FiscalPeriodStatus
from gateway.types.income_statement import IncomeStatement
from gateway.types.journal_entry import ENTRY_STATUS, JournalEntry, JournalEntryStatus
from gateway.types.trial_balance import TrialBalance
from services.runtime.convert import date_to_pb


@strawberry.input(description="Accounts matching all the given criteria.")
class AccountFilter:
    account_types: list[AccountType] | None = None
    is_active: bool | None = None
    parent_account_code: str | None = None
    query: str | None = strawberry.field(default=None, description="Case-insensitive match on code or name.")


@strawberry.input(description="Journal entries matching all the given criteria.")
class JournalEntryFilter:
    account_code: str | None = strawberry.field(default=None, description="Entries with a line on this account.")
    source_service: str | None = None
    source_id: strawberry.ID | None = None
    start_date: date | None = None
    end_date: date | None = None
    statuses: list[JournalEntryStatus] | None = None
    department: str | None = None


@strawberry.type
class AccountingQueries:
    @strawberry.field(description="One account by code; null when the code names none.")
    async def account(self, info: GatewayInfo, account_code: str) -> Account | None:
        message = await info.context.loaders.accounting.accounts_by_code.load(account_code)
        return None if message is None else Account.from_proto(message)

    @strawberry.field(description="The chart of accounts, ordered by code.")
    async def accounts(
        self,
        info: GatewayInfo,
        filter: AccountFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Account]:
        f = filter or AccountFilter()

        async def fetch(size: int, token: str) -> ServicePage[pb.Account]:
            request = api.ListAccountsRequest(
                page_size=size,
                page_token=token,
                account_types=ACCOUNT_TYPE.to_pb_list(f.account_types),
                is_active=f.is_active,
                parent_account_code=f.parent_account_code or "",
                query=f.query or "",
            )
            response = await info.context.clients.accounting.call(lambda s: s.ListAccounts(request))
            info.context.loaders.remember(response.accounts)
            return ServicePage(response.accounts, response.next_page_token, response.total_size)

        return await remote_connection(fetch, Account.from_proto, first, after)

    @strawberry.field(description="One journal entry with its lines; NOT_FOUND when the id names none.")
    async def journal_entry(self, info: GatewayInfo, id: strawberry.ID) -> JournalEntry | None:
        request = api.GetJournalEntryRequest(id=id)
        entry = (await info.context.clients.accounting.call(lambda s: s.GetJournalEntry(request))).journal_entry
        info.context.loaders.remember([entry])
        return JournalEntry.from_proto(entry)

    @strawberry.field(description="Journal entries with their lines, newest entry date first, then journal number.")
    async def journal_entries(
        self,
        info: GatewayInfo,
        filter: JournalEntryFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[JournalEntry]:
        f = filter or JournalEntryFilter()

        async def fetch(size: int, token: str) -> ServicePage[pb.JournalEntry]:
            request = api.ListJournalEntriesRequest(
                page_size=size,
                page_token=token,
                account_code=f.account_code or "",
                source_service=f.source_service or "",
                source_id=f.source_id or "",
                start_date=date_to_pb(f.start_date),
                end_date=date_to_pb(f.end_date),
                statuses=ENTRY_STATUS.to_pb_list(f.statuses),
                department=f.department or "",
            )
            response = await info.context.clients.accounting.call(lambda s: s.ListJournalEntries(request))
            info.context.loaders.remember(response.journal_entries)
            return ServicePage(response.journal_entries, response.next_page_token, response.total_size)

        return await remote_connection(fetch, JournalEntry.from_proto, first, after)

    @strawberry.field(description="Fiscal periods, ordered by start date.")
    async def fiscal_periods(
        self,
        info: GatewayInfo,
        fiscal_year: int | None = None,
        statuses: list[FiscalPeriodStatus] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[FiscalPeriod]:
        async def fetch(size: int, token: str) -> ServicePage[pb.FiscalPeriod]:
            request = api.ListFiscalPeriodsRequest(
                page_size=size,
                page_token=token,
                fiscal_year=fiscal_year or 0,
                statuses=PERIOD_STATUS.to_pb_list(statuses),
            )
            response = await info.context.clients.accounting.call(lambda s: s.ListFiscalPeriods(request))
            return ServicePage(response.fiscal_periods, response.next_page_token, response.total_size)

        return await remote_connection(fetch, FiscalPeriod.from_proto, first, after)

    @strawberry.field(description="An account's balance at the end of `asOf` (today when omitted).")
    async def account_balance(self, info: GatewayInfo, account_code: str, as_of: date | None = None) -> AccountBalance:
        request = api.GetAccountBalanceRequest(account_code=account_code, as_of_date=date_to_pb(as_of))
        response = await info.context.clients.accounting.call(lambda s: s.GetAccountBalance(request))
        return AccountBalance.from_proto(response.balance)

    @strawberry.field(description="The trial balance at the end of `asOf` (today when omitted).")
    async def trial_balance(self, info: GatewayInfo, as_of: date | None = None) -> TrialBalance:
        request = api.GetTrialBalanceRequest(as_of_date=date_to_pb(as_of))
        response = await info.context.clients.accounting.call(lambda s: s.GetTrialBalance(request))
        return TrialBalance.from_proto(response.trial_balance)

    @strawberry.field(description="Revenue and expenses from `start` to `end`, for one department or the company.")
    async def income_statement(
        self, info: GatewayInfo, start: date, end: date, department: str | None = None
    ) -> IncomeStatement:
        request = api.GetIncomeStatementRequest(
            start_date=date_to_pb(start), end_date=date_to_pb(end), department=department or ""
        )
        response = await info.context.clients.accounting.call(lambda s: s.GetIncomeStatement(request))
        return IncomeStatement.from_proto(response.income_statement)

    @strawberry.field(description="Assets, liabilities and equity at the end of `asOf` (today when omitted).")
    async def balance_sheet(self, info: GatewayInfo, as_of: date | None = None) -> BalanceSheet:
        request = api.GetBalanceSheetRequest(as_of_date=date_to_pb(as_of))
        response = await info.context.clients.accounting.call(lambda s: s.GetBalanceSheet(request))
        return BalanceSheet.from_proto(response.balance_sheet)
