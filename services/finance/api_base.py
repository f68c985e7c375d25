"""What every part of the FinanceService servicer shares: the database, the clock, the clients
of the services finance reads, and small request helpers."""

from __future__ import annotations

from datetime import date
from typing import Any

from google.type.date_pb2 import Date

from services.finance.remote import Accounting, Departments
from services.finance.tables import Budget
from services.runtime import errors
from services.runtime.clock import Clock
from services.runtime.convert import date_from_pb
from services.runtime.db import Database
from services.runtime.errors import Validator
from services.runtime.repository import Desc
from services.runtime.service import ServiceDeps


class ApiBase:
    def __init__(self, deps: ServiceDeps) -> None:
        self.deps = deps
        self.db: Database = deps.db
        self.clock: Clock = deps.clock

    def accounting(self) -> Accounting:
        return Accounting(self.deps.channel("accounting"), self.deps.settings.rpc_deadline_s)

    def departments(self) -> Departments:
        return Departments(self.deps.channel("employee"), self.deps.settings.rpc_deadline_s)

    def date_or_today(self, value: Date, field: str) -> date:
        parsed = date_from_pb(value, field, required=False)
        return parsed if parsed is not None else self.clock.today()


def text_arg(v: Validator, value: str, field: str, limit: int) -> str:
    """A stripped text argument, checked for length and NUL characters (PostgreSQL refuses them)."""
    value = value.strip()
    v.max_len(value, field, limit)
    return value


def texts_arg(v: Validator, values: Any, field: str, limit: int) -> list[str]:
    out = [text_arg(v, value, field, limit) for value in values]
    v.check(len(out) <= 1000, field, "at most 1000 values")
    return [value for value in out if value]


def check_range(start: date | None, end: date | None, field: str = "end_date") -> None:
    errors.check_range(start, end, field, "must be on or after start_date")


# ListBudgets is ordered by fiscal year (newest first), then department and category (A-Z).
BUDGET_ORDER = (Desc(Budget.fiscal_year), Budget.department, Budget.category, Budget.id)
