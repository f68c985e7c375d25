"""Finance's background job: closing the budgets whose period has ended.

ERP_FINANCE_BUDGET_CLOSE_INTERVAL_S (whole seconds, default 3600) says how often it looks; "ended" means an
end_date before the clock's today. Each tick runs under `leader_lock` (one replica does the work)
and closes in units of work of at most CLOSE_BATCH budgets, recording BudgetClosed for each.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from services.finance import budgets
from services.runtime.clock import Clock
from services.runtime.db import Database
from services.runtime.jobs import leader_lock, periodic
from services.runtime.service import BackgroundJob, ServiceDeps

CLOSE_BATCH = 500
DEFAULT_INTERVAL_S = 3600


def interval_from_env(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    raw = env.get("ERP_FINANCE_BUDGET_CLOSE_INTERVAL_S", "").strip()
    if not raw:
        return DEFAULT_INTERVAL_S
    value = int(raw)
    if value <= 0:
        raise ValueError("ERP_FINANCE_BUDGET_CLOSE_INTERVAL_S must be a positive number of seconds")
    return value


async def close_expired_budgets(db: Database, clock: Clock) -> int:
    """Close every open budget whose end_date has passed; returns how many were closed."""
    total = 0
    async with leader_lock(db, "close-expired-budgets") as leader:
        if not leader:
            return 0
        while True:
            async with db.unit_of_work() as uow:
                now = clock.now()
                due = await budgets.expired(uow, clock.today(), CLOSE_BATCH)
                for row in due:
                    budgets.close(uow, row, now)
            total += len(due)
            if len(due) < CLOSE_BATCH:
                return total


def background_jobs(interval_s: float) -> Callable[[ServiceDeps], list[BackgroundJob]]:
    def jobs(deps: ServiceDeps) -> list[BackgroundJob]:
        return [periodic(interval_s, lambda: close_expired_budgets(deps.db, deps.clock), "close-expired-budgets")]

    return jobs


def background(deps: ServiceDeps) -> list[BackgroundJob]:
    return background_jobs(interval_from_env())(deps)
