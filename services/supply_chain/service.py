"""The supply chain service's wiring: its gRPC API. It consumes no other service's events;
inventory and procurement follow its ShipmentDelivered."""

from services.runtime.service import ServiceDefinition
from services.supply_chain.api import register

DEFINITION = ServiceDefinition(
    name="supply_chain",
    full_service_name="erp.supply_chain.v1.SupplyChainService",
    register=register,
)
