"""The accounting service's wiring: its gRPC API and the postings it makes on other services'
events (see handlers.py)."""

from services.accounting.api import register
from services.accounting.handlers import handlers
from services.runtime.service import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="accounting",
    full_service_name="erp.accounting.v1.AccountingService",
    register=register,
    handlers=handlers,
)
