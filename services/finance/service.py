"""The finance service's wiring: its gRPC API, the accounting events it follows (spending to
budgets, the accounting cache) and the job that closes budgets whose period has ended."""

from services.finance.api import register
from services.finance.handlers import handlers
from services.finance.jobs import background
from services.runtime.service import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="finance",
    full_service_name="erp.finance.v1.FinanceService",
    register=register,
    handlers=handlers,
    background=background,
)
