"""FinanceService, spending: budget transactions, budget versus actual, unattributed spend."""

from __future__ import annotations

from decimal import ROUND_HALF_UP
from typing import Any

from erp.finance.v1 import finance_pb2 as pb
from erp.finance.v1 import finance_service_pb2 as api
from sqlalchemy import func, select

from services.finance import domain, mapping
from services.finance.api_base import ApiBase, check_range, text_arg, texts_arg
from services.finance.tables import Budget, BudgetTransaction, UnattributedSpend
from services.runtime.convert import date_from_pb, decimal_to_pb, uuid_from_str
from services.runtime.errors import Validator
from services.runtime.repository import get_or_404, list_page


def variance_row(row: Budget) -> pb.BudgetVsActualRow:
    """Allocated versus actual (the spending charged to the budget): variance = allocated - actual,
    as an exact percentage of allocated (utilization is 100 minus it)."""
    variance = row.allocated_amount - row.spent_amount
    pct = (
        (variance * domain.HUNDRED / row.allocated_amount).quantize(domain.CENT, rounding=ROUND_HALF_UP)
        if row.allocated_amount
        else domain.ZERO
    )
    return pb.BudgetVsActualRow(
        budget_id=str(row.id),
        department=row.department,
        category=row.category,
        fiscal_year=row.fiscal_year,
        quarter=row.quarter or 0,
        allocated_amount=decimal_to_pb(row.allocated_amount),
        actual_amount=decimal_to_pb(row.spent_amount),
        variance=decimal_to_pb(variance),
        variance_percentage=decimal_to_pb(pct),
        status=mapping.STATUS_TO_PB[row.status],
    )


class SpendApi(ApiBase):
    async def ListBudgetTransactions(
        self, request: api.ListBudgetTransactionsRequest, context_: Any
    ) -> api.ListBudgetTransactionsResponse:
        v = Validator()
        key = v.collect(lambda: uuid_from_str(request.budget_id, "budget_id"))
        start = v.collect(lambda: date_from_pb(request.start_date, "start_date", required=False))
        end = v.collect(lambda: date_from_pb(request.end_date, "end_date", required=False))
        source = text_arg(v, request.source_service, "source_service", 50)
        v.raise_if_any()
        check_range(start, end)
        assert key is not None
        stmt = select(BudgetTransaction).where(BudgetTransaction.budget_id == key)
        if start is not None:
            stmt = stmt.where(BudgetTransaction.transaction_date >= start)
        if end is not None:
            stmt = stmt.where(BudgetTransaction.transaction_date <= end)
        if source:
            stmt = stmt.where(BudgetTransaction.source_service == source)
        async with self.db.read() as s:
            await get_or_404(s, Budget, key, "budget")
            page = await list_page(
                s,
                stmt,
                [BudgetTransaction.transaction_date, BudgetTransaction.id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=(str(key), str(start), str(end), source),
                descending=True,
            )
        return api.ListBudgetTransactionsResponse(
            budget_transactions=[mapping.transaction_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def GetBudgetVsActual(
        self, request: api.GetBudgetVsActualRequest, context_: Any
    ) -> api.GetBudgetVsActualResponse:
        v = Validator()
        v.check(1 <= request.fiscal_year <= 9999, "fiscal_year", "must be between 1 and 9999")
        v.check(0 <= request.quarter <= 4, "quarter", "must be 1 to 4, or 0 for the whole year")
        departments = texts_arg(v, request.departments, "departments", 100)
        categories = texts_arg(v, request.categories, "categories", 100)
        v.raise_if_any()
        stmt = select(Budget).where(Budget.fiscal_year == request.fiscal_year)
        if request.quarter:
            stmt = stmt.where(Budget.quarter == request.quarter)
        if departments:
            stmt = stmt.where(Budget.department.in_(departments))
        if categories:
            stmt = stmt.where(Budget.category.in_(categories))
        stmt = stmt.order_by(Budget.department, Budget.category, Budget.quarter.nulls_first(), Budget.id)
        async with self.db.read() as s:
            rows = list((await s.execute(stmt)).scalars())
        allocated = domain.sum_amounts([r.allocated_amount for r in rows])
        actual = domain.sum_amounts([r.spent_amount for r in rows])
        return api.GetBudgetVsActualResponse(
            rows=[variance_row(r) for r in rows],
            total_allocated=decimal_to_pb(allocated),
            total_actual=decimal_to_pb(actual),
            total_variance=decimal_to_pb(allocated - actual),
        )

    async def ListUnattributedSpend(
        self, request: api.ListUnattributedSpendRequest, context_: Any
    ) -> api.ListUnattributedSpendResponse:
        v = Validator()
        start = v.collect(lambda: date_from_pb(request.start_date, "start_date", required=False))
        end = v.collect(lambda: date_from_pb(request.end_date, "end_date", required=False))
        source = text_arg(v, request.source_service, "source_service", 50)
        department = text_arg(v, request.department, "department", 100)
        v.raise_if_any()
        check_range(start, end)
        stmt = select(UnattributedSpend)
        if start is not None:
            stmt = stmt.where(UnattributedSpend.transaction_date >= start)
        if end is not None:
            stmt = stmt.where(UnattributedSpend.transaction_date <= end)
        if source:
            stmt = stmt.where(UnattributedSpend.source_service == source)
        if department:
            stmt = stmt.where(UnattributedSpend.department == department)
        matching = stmt.subquery()
        total_stmt = select(func.coalesce(func.sum(matching.c.amount), domain.ZERO))
        async with self.db.read() as s:
            page = await list_page(
                s,
                stmt,
                [UnattributedSpend.transaction_date, UnattributedSpend.id],
                page_size=request.page_size,
                page_token=request.page_token,
                filters=(str(start), str(end), source, department),
                descending=True,
            )
            total = (await s.execute(total_stmt)).scalar_one()
        return api.ListUnattributedSpendResponse(
            unattributed_spend=[mapping.unattributed_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
            total_amount=decimal_to_pb(total),
        )
