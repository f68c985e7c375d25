"""FinanceService, reports and the accounting cache: generate, get and list financial reports;
rebuild and read the cached account balances. Accounting is read before any transaction opens."""

from __future__ import annotations

import uuid
from typing import Any

from erp.finance.v1 import finance_service_pb2 as api
from sqlalchemy import select

from services.finance import cache, generation, mapping
from services.finance.api_base import ApiBase, check_range, texts_arg
from services.finance.domain import signed_balance_delta
from services.finance.reports import amount
from services.finance.tables import FinancialReport
from services.runtime.convert import date_from_pb, timestamp_to_pb, uuid_from_str
from services.runtime.errors import Validator
from services.runtime.repository import get_or_404, list_page


class ReportsApi(ApiBase):
    async def GenerateFinancialReport(
        self, request: api.GenerateFinancialReportRequest, context_: Any
    ) -> api.GenerateFinancialReportResponse:
        v = Validator()
        v.check(request.report_type in mapping.REPORT_TYPE_FROM_PB, "report_type", "is required and must be known")
        start = v.collect(lambda: date_from_pb(request.period_start, "period_start"))
        end = v.collect(lambda: date_from_pb(request.period_end, "period_end"))
        v.raise_if_any()
        check_range(start, end, "period_end")
        assert start is not None and end is not None
        report_type = mapping.REPORT_TYPE_FROM_PB[request.report_type]
        data = await generation.generate(self.accounting(), report_type, start, end)
        async with self.db.unit_of_work() as uow:
            row = FinancialReport(
                id=uuid.uuid4(),
                report_type=report_type,
                period_start=start,
                period_end=end,
                report_data=mapping.report_data_to_json(data),
                generated_at=self.clock.now(),
            )
            uow.session.add(row)
            uow.record(mapping.report_generated(row), aggregate_type="FinancialReport", aggregate_id=row.id)
        return api.GenerateFinancialReportResponse(financial_report=mapping.report_to_pb(row))

    async def GetFinancialReport(
        self, request: api.GetFinancialReportRequest, context_: Any
    ) -> api.GetFinancialReportResponse:
        key = uuid_from_str(request.id, "id")
        assert key is not None
        async with self.db.read() as s:
            row = await get_or_404(s, FinancialReport, key, "financial report")
        return api.GetFinancialReportResponse(financial_report=mapping.report_to_pb(row))

    async def ListFinancialReports(
        self, request: api.ListFinancialReportsRequest, context_: Any
    ) -> api.ListFinancialReportsResponse:
        v = Validator()
        v.check(
            all(t in mapping.REPORT_TYPE_FROM_PB for t in request.report_types),
            "report_types",
            "contains an unknown type",
        )
        start = v.collect(lambda: date_from_pb(request.period_start_from, "period_start_from", required=False))
        end = v.collect(lambda: date_from_pb(request.period_end_to, "period_end_to", required=False))
        v.raise_if_any()
        stmt = select(FinancialReport)
        if request.report_types:
            types = [mapping.REPORT_TYPE_FROM_PB[t] for t in request.report_types]
            stmt = stmt.where(FinancialReport.report_type.in_(types))
        if start is not None:
            stmt = stmt.where(FinancialReport.period_start >= start)
        if end is not None:
            stmt = stmt.where(FinancialReport.period_end <= end)
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [FinancialReport.generated_at, FinancialReport.id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=(sorted(request.report_types), str(start), str(end)),
                descending=True,
            )
        return api.ListFinancialReportsResponse(
            financial_reports=[mapping.report_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def RebuildAccountingCache(
        self, request: api.RebuildAccountingCacheRequest, context_: Any
    ) -> api.RebuildAccountingCacheResponse:
        as_of = self.date_or_today(request.as_of_date, "as_of_date")
        trial = await self.accounting().trial_balance(as_of)
        balances = []
        for line in trial.lines:
            kind = mapping.ACCOUNT_TYPE_FROM_PB.get(line.account_type, "asset")
            balance = signed_balance_delta(kind, amount(line.debit_balance), amount(line.credit_balance))
            balances.append(cache.Balance(line.account_code, line.account_name, kind, balance))
        now = self.clock.now()
        async with self.db.unit_of_work() as uow:
            count = await cache.rebuild(uow.session, as_of, balances, now)
        return api.RebuildAccountingCacheResponse(entry_count=count, rebuilt_at=timestamp_to_pb(now))

    async def GetAccountingCache(
        self, request: api.GetAccountingCacheRequest, context_: Any
    ) -> api.GetAccountingCacheResponse:
        v = Validator()
        codes = texts_arg(v, request.account_codes, "account_codes", 20)
        v.raise_if_any()
        async with self.db.read() as s:
            rows = await cache.latest(s, codes)
        return api.GetAccountingCacheResponse(
            entries=[mapping.cache_entry_to_pb(r) for r in rows],
            last_synced_at=timestamp_to_pb(cache.oldest_sync(rows)),
        )
