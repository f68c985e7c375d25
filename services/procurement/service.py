"""The procurement service's wiring: its gRPC API, and the inventory and accounting events it follows."""

from services.procurement.api import register
from services.procurement.handlers import handlers
from services.runtime.service import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="procurement",
    full_service_name="erp.procurement.v1.ProcurementService",
    register=register,
    handlers=handlers,
)
