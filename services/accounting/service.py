"""The accounting service's wiring: its gRPC API and the postings it makes on other services'
events (handlers.py: payroll; handlers_billing.py, handlers_procurement.py, handlers_inventory.py)."""

from services.accounting import handlers_billing, handlers_inventory, handlers_procurement
from services.accounting.api import register
from services.accounting.handlers import handlers as payroll_handlers
from services.runtime.consumer import Handler
from services.runtime.service import ServiceDefinition, ServiceDeps


def handlers(deps: ServiceDeps) -> dict[str, Handler]:
    return {
        **payroll_handlers(deps),
        **handlers_billing.handlers(deps),
        **handlers_procurement.handlers(deps),
        **handlers_inventory.handlers(deps),
    }


DEFINITION = ServiceDefinition(
    name="accounting",
    full_service_name="erp.accounting.v1.AccountingService",
    register=register,
    handlers=handlers,
)
