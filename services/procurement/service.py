"""The procurement service's wiring: its gRPC API, and the inventory and accounting events it follows."""

from services.procurement.api import register
from services.procurement.handlers import handlers
from services.procurement.handlers_supply_chain import handlers as supply_chain_handlers
from services.runtime.service import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="procurement",
    full_service_name="erp.procurement.v1.ProcurementService",
    register=register,
    handlers=lambda deps: handlers(deps) | supply_chain_handlers(deps),
)
