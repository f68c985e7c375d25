"""FinanceService, budgets: allocate, get, batch get, list, update, close."""

from __future__ import annotations

import uuid
from typing import Any

from erp.finance.v1 import finance_service_pb2 as api
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.finance import budgets, domain, mapping
from services.finance.api_base import BUDGET_ORDER, ApiBase, text_arg, texts_arg
from services.finance.tables import Budget
from services.runtime.convert import date_from_pb, money_from_pb, uuid_from_str, uuids_from_strs
from services.runtime.db import UnitOfWork, translate_integrity_error
from services.runtime.errors import AlreadyExists, InvalidArgument, Validator
from services.runtime.repository import batch_get, get_or_404, get_versioned_for_update, list_page

UNIQUE_MESSAGES = {
    "uq_budgets_department": "a budget for this department, fiscal year, quarter and category already exists",
}
RESOURCE = "budget"


class BudgetsApi(ApiBase):
    async def AllocateBudget(self, request: api.AllocateBudgetRequest, context_: Any) -> api.AllocateBudgetResponse:
        v = Validator()
        values: dict[str, Any] = {
            "department": text_arg(v, request.department, "department", 100),
            "fiscal_year": request.fiscal_year,
            "quarter": domain.quarter_from_pb(request.quarter),
            "category": text_arg(v, request.category, "category", 100),
            "allocated_amount": v.collect(lambda: money_from_pb(request.allocated_amount, "allocated_amount")),
            "start_date": v.collect(lambda: date_from_pb(request.start_date, "start_date")),
            "end_date": v.collect(lambda: date_from_pb(request.end_date, "end_date")),
        }
        domain.validate_budget_fields(v, values)
        v.raise_if_any()
        if not await self.departments().exists(values["department"]):
            raise InvalidArgument.field("department", "does not name an existing department")
        now = self.clock.now()
        allocated = values.pop("allocated_amount")
        fig = domain.figures(allocated, domain.ZERO, domain.BudgetStatus.ACTIVE)
        try:
            async with self.db.unit_of_work() as uow:
                await self._ensure_unique(
                    uow, values["department"], values["fiscal_year"], values["quarter"], values["category"], None
                )
                row = Budget(id=uuid.uuid4(), version=1, created_at=now, updated_at=now, **values)
                mapping.set_figures(row, fig)
                uow.session.add(row)
                await uow.session.flush()
                uow.record(
                    mapping.budget_allocated(row),
                    aggregate_type=budgets.AGGREGATE,
                    aggregate_id=row.id,
                    version=row.version,
                )
        except IntegrityError as exc:
            raise translate_integrity_error(exc, UNIQUE_MESSAGES) from None
        return api.AllocateBudgetResponse(budget=mapping.budget_to_pb(row))

    async def GetBudget(self, request: api.GetBudgetRequest, context_: Any) -> api.GetBudgetResponse:
        key = uuid_from_str(request.id, "id")
        assert key is not None
        async with self.db.read() as s:
            row = await get_or_404(s, Budget, key, RESOURCE)
        return api.GetBudgetResponse(budget=mapping.budget_to_pb(row))

    async def BatchGetBudgets(self, request: api.BatchGetBudgetsRequest, context_: Any) -> api.BatchGetBudgetsResponse:
        keys = uuids_from_strs(list(request.ids), "ids")
        async with self.db.read() as s:
            rows = await batch_get(s, Budget, keys)
        return api.BatchGetBudgetsResponse(budgets=[mapping.budget_to_pb(r) for r in rows])

    async def ListBudgets(self, request: api.ListBudgetsRequest, context_: Any) -> api.ListBudgetsResponse:
        v = Validator()
        departments = texts_arg(v, request.departments, "departments", 100)
        categories = texts_arg(v, request.categories, "categories", 100)
        v.check(0 <= request.fiscal_year <= 9999, "fiscal_year", "must be between 1 and 9999, or 0 for all")
        v.check(0 <= request.quarter <= 4, "quarter", "must be 1 to 4, or 0 for all")
        v.check(all(s in mapping.STATUS_FROM_PB for s in request.statuses), "statuses", "contains an unknown status")
        v.raise_if_any()
        stmt = select(Budget)
        if departments:
            stmt = stmt.where(Budget.department.in_(departments))
        if categories:
            stmt = stmt.where(Budget.category.in_(categories))
        if request.fiscal_year:
            stmt = stmt.where(Budget.fiscal_year == request.fiscal_year)
        if request.quarter:
            stmt = stmt.where(Budget.quarter == request.quarter)
        if request.statuses:
            stmt = stmt.where(Budget.status.in_([mapping.STATUS_FROM_PB[s] for s in request.statuses]))
        filters = (
            sorted(departments),
            sorted(categories),
            request.fiscal_year,
            request.quarter,
            sorted(request.statuses),
        )
        async with self.db.read() as s:
            page = await list_page(
                s, stmt, BUDGET_ORDER, page_size=request.page_size, page_token=request.page_token, filters=filters
            )
        return api.ListBudgetsResponse(
            budgets=[mapping.budget_to_pb(r) for r in page.items],
            next_page_token=page.next_page_token,
            total_size=page.total_size,
        )

    async def UpdateBudget(self, request: api.UpdateBudgetRequest, context_: Any) -> api.UpdateBudgetResponse:
        paths = list(request.update_mask.paths)
        if not paths:
            raise InvalidArgument.field("update_mask", "must name at least one field")
        unknown = sorted(set(paths) - domain.UPDATABLE_FIELDS)
        if unknown:
            raise InvalidArgument.field("update_mask", f"cannot update {', '.join(unknown)}")
        b = request.budget
        v = Validator()
        key = v.collect(lambda: uuid_from_str(b.id, "budget.id"))
        parsers: dict[str, Any] = {
            "allocated_amount": lambda: money_from_pb(b.allocated_amount, "budget.allocated_amount"),
            "start_date": lambda: date_from_pb(b.start_date, "budget.start_date"),
            "end_date": lambda: date_from_pb(b.end_date, "budget.end_date"),
            "category": lambda: text_arg(v, b.category, "budget.category", 100),
        }
        values: dict[str, Any] = {p: v.collect(parsers[p]) for p in sorted(set(paths))}
        domain.validate_budget_fields(v, values, prefix="budget.")
        v.raise_if_any()
        assert key is not None
        try:
            async with self.db.unit_of_work() as uow:
                row = await get_versioned_for_update(uow.session, Budget, key, request.version, RESOURCE)
                domain.ensure_open(row.status, row.id)
                start, end = values.get("start_date", row.start_date), values.get("end_date", row.end_date)
                if end < start:
                    raise InvalidArgument.field("budget.end_date", "must be on or after start_date")
                changed = [name for name, value in values.items() if getattr(row, name) != value]
                if "category" in changed:
                    await self._ensure_unique(
                        uow, row.department, row.fiscal_year, row.quarter, values["category"], row.id
                    )
                if changed:
                    self._apply(uow, row, {name: values[name] for name in changed})
        except IntegrityError as exc:
            raise translate_integrity_error(exc, UNIQUE_MESSAGES) from None
        return api.UpdateBudgetResponse(budget=mapping.budget_to_pb(row))

    async def CloseBudget(self, request: api.CloseBudgetRequest, context_: Any) -> api.CloseBudgetResponse:
        key = uuid_from_str(request.id, "id")
        assert key is not None
        async with self.db.unit_of_work() as uow:
            row = await get_versioned_for_update(uow.session, Budget, key, request.version, RESOURCE)
            budgets.close(uow, row, self.clock.now())
        return api.CloseBudgetResponse(budget=mapping.budget_to_pb(row))

    def _apply(self, uow: UnitOfWork, row: Budget, changes: dict[str, Any]) -> None:
        old_status = row.status
        for name, value in changes.items():
            setattr(row, name, value)
        fields = list(changes)
        if "allocated_amount" in changes:
            mapping.set_figures(row, domain.figures(row.allocated_amount, row.spent_amount, row.status))
            fields += ["remaining_amount", "utilization_percentage"]
        row.version += 1
        row.updated_at = self.clock.now()
        budgets.record_change(uow, row, old_status, fields)

    async def _ensure_unique(
        self, uow: UnitOfWork, department: str, year: int, quarter: int | None, category: str, own: uuid.UUID | None
    ) -> None:
        stmt = select(Budget.id).where(
            Budget.department == department,
            Budget.fiscal_year == year,
            Budget.quarter.is_(None) if quarter is None else Budget.quarter == quarter,
            Budget.category == category,
        )
        if own is not None:
            stmt = stmt.where(Budget.id != own)
        if (await uow.session.execute(stmt)).first() is not None:
            raise AlreadyExists(UNIQUE_MESSAGES["uq_budgets_department"])
