"""The billing service's wiring: its gRPC API, the accounting events it follows, and two
background jobs (the overdue sweep and the invoice_summary read-model refresher)."""

from __future__ import annotations

from collections.abc import Callable

from services.billing.api import register
from services.billing.config import BillingConfig
from services.billing.handlers import handlers
from services.billing.overdue import overdue_job
from services.billing.read_model import SummaryRefresher
from services.runtime.service import BackgroundJob, ServiceDefinition, ServiceDeps
from services.runtime.settings import to_libpq_url


def background_jobs(config: BillingConfig) -> Callable[[ServiceDeps], list[BackgroundJob]]:
    def jobs(deps: ServiceDeps) -> list[BackgroundJob]:
        refresher = SummaryRefresher(
            deps.db,
            to_libpq_url(deps.settings.service_database_url(deps.name)),
            min_interval_s=config.summary_min_interval_s,
        )
        return [overdue_job(deps, config.overdue_interval_s), refresher.run]

    return jobs


def background(deps: ServiceDeps) -> list[BackgroundJob]:
    return background_jobs(BillingConfig.from_env())(deps)


DEFINITION = ServiceDefinition(
    name="billing",
    full_service_name="erp.billing.v1.BillingService",
    register=register,
    handlers=handlers,
    background=background,
)
