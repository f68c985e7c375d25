"""AccountingService, ledger and reports: ledger entries, account balance, trial balance,
income statement, balance sheet. Figures are Decimal end to end."""

from __future__ import annotations

from typing import Any

from erp.accounting.v1 import accounting_pb2 as pb
from erp.accounting.v1 import accounting_service_pb2 as api
from sqlalchemy import select

from services.accounting import accounts, domain, mapping, reports, statements
from services.accounting.api_base import ApiBase, check_range, text_arg
from services.accounting.tables import LedgerRow
from services.runtime.convert import date_from_pb, date_to_pb, decimal_to_pb
from services.runtime.errors import Validator
from services.runtime.repository import list_page


def _required_code(code: str, field: str = "account_code") -> str:
    v = Validator()
    code = text_arg(v, code, field, 20)
    v.require(code, field)
    v.raise_if_any()
    return code


class ReportsApi(ApiBase):
    async def ListLedgerEntries(
        self, request: api.ListLedgerEntriesRequest, context_: Any
    ) -> api.ListLedgerEntriesResponse:
        v = Validator()
        code = v.collect(lambda: _required_code(request.account_code))
        start = v.collect(lambda: date_from_pb(request.start_date, "start_date", required=False))
        end = v.collect(lambda: date_from_pb(request.end_date, "end_date", required=False))
        v.raise_if_any()
        check_range(start, end)
        assert code is not None
        stmt = select(LedgerRow).where(LedgerRow.account_code == code)
        if start is not None:
            stmt = stmt.where(LedgerRow.transaction_date >= start)
        if end is not None:
            stmt = stmt.where(LedgerRow.transaction_date <= end)
        async with self.db.read() as s:
            await accounts.by_code_or_404(s, code)
            page = await list_page(
                s,
                stmt,
                [LedgerRow.transaction_date, LedgerRow.seq],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=(code, str(start), str(end)),
            )
            opening = await reports.balance_before(s, code, start) if start is not None else domain.ZERO
        return api.ListLedgerEntriesResponse(
            ledger_entries=[mapping.ledger_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
            opening_balance=decimal_to_pb(opening),
        )

    async def GetAccountBalance(
        self, request: api.GetAccountBalanceRequest, context_: Any
    ) -> api.GetAccountBalanceResponse:
        v = Validator()
        code = v.collect(lambda: _required_code(request.account_code))
        as_of = v.collect(lambda: self.date_or_today(request.as_of_date, "as_of_date"))
        v.raise_if_any()
        assert code is not None and as_of is not None
        async with self.db.read() as s:
            account = await accounts.by_code_or_404(s, code)
            debit, credit = await reports.account_totals(s, code, as_of)
        return api.GetAccountBalanceResponse(
            balance=pb.AccountBalance(
                account_code=account.account_code,
                account_name=account.account_name,
                account_type=mapping.ACCOUNT_TYPE_TO_PB[account.account_type],
                as_of_date=date_to_pb(as_of),
                total_debit=decimal_to_pb(debit),
                total_credit=decimal_to_pb(credit),
                balance=decimal_to_pb(domain.normal_balance(account.account_type, debit, credit)),
            )
        )

    async def GetTrialBalance(self, request: api.GetTrialBalanceRequest, context_: Any) -> api.GetTrialBalanceResponse:
        as_of = self.date_or_today(request.as_of_date, "as_of_date")
        async with self.db.read() as s:
            tb = statements.trial_balance(await reports.totals_as_of(s, as_of))
        return api.GetTrialBalanceResponse(
            trial_balance=pb.TrialBalance(
                as_of_date=date_to_pb(as_of),
                lines=[
                    pb.TrialBalanceLine(
                        account_code=line.account_code,
                        account_name=line.account_name,
                        account_type=mapping.ACCOUNT_TYPE_TO_PB[line.account_type],
                        debit_balance=decimal_to_pb(line.debit_balance),
                        credit_balance=decimal_to_pb(line.credit_balance),
                    )
                    for line in tb.lines
                ],
                total_debit=decimal_to_pb(tb.total_debit),
                total_credit=decimal_to_pb(tb.total_credit),
                balanced=tb.balanced,
            )
        )

    async def GetIncomeStatement(
        self, request: api.GetIncomeStatementRequest, context_: Any
    ) -> api.GetIncomeStatementResponse:
        v = Validator()
        start = v.collect(lambda: date_from_pb(request.start_date, "start_date"))
        end = v.collect(lambda: date_from_pb(request.end_date, "end_date"))
        department = request.department.strip() or None
        v.max_len(department, "department", 100)
        v.raise_if_any()
        check_range(start, end)
        assert start is not None and end is not None
        async with self.db.read() as s:
            rows = await reports.totals_between(
                s, start, end, account_types=domain.PROFIT_AND_LOSS, department=department
            )
        result = statements.income_statement(rows)
        return api.GetIncomeStatementResponse(
            income_statement=pb.IncomeStatement(
                start_date=date_to_pb(start),
                end_date=date_to_pb(end),
                department=department or "",
                revenue=[mapping.statement_line_to_pb(line) for line in result.revenue],
                expenses=[mapping.statement_line_to_pb(line) for line in result.expenses],
                total_revenue=decimal_to_pb(result.total_revenue),
                total_expenses=decimal_to_pb(result.total_expenses),
                net_income=decimal_to_pb(result.net_income),
            )
        )

    async def GetBalanceSheet(self, request: api.GetBalanceSheetRequest, context_: Any) -> api.GetBalanceSheetResponse:
        as_of = self.date_or_today(request.as_of_date, "as_of_date")
        async with self.db.read() as s:
            sheet = statements.balance_sheet(await reports.totals_as_of(s, as_of))
        return api.GetBalanceSheetResponse(
            balance_sheet=pb.BalanceSheet(
                as_of_date=date_to_pb(as_of),
                assets=[mapping.statement_line_to_pb(line) for line in sheet.assets],
                liabilities=[mapping.statement_line_to_pb(line) for line in sheet.liabilities],
                equity=[mapping.statement_line_to_pb(line) for line in sheet.equity],
                current_earnings=decimal_to_pb(sheet.current_earnings),
                total_assets=decimal_to_pb(sheet.total_assets),
                total_liabilities=decimal_to_pb(sheet.total_liabilities),
                total_equity=decimal_to_pb(sheet.total_equity),
                balanced=sheet.balanced,
            )
        )
