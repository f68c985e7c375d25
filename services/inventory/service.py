"""The inventory service's wiring: its gRPC API, the procurement events it follows (quantity on
order, receipts) and its background jobs (reservation expiry, valuation snapshots)."""

from services.inventory.api import register
from services.inventory.handlers import handlers
from services.inventory.handlers_supply_chain import handlers as supply_chain_handlers
from services.inventory.jobs import background
from services.runtime.service import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="inventory",
    full_service_name="erp.inventory.v1.InventoryService",
    register=register,
    handlers=lambda deps: handlers(deps) | supply_chain_handlers(deps),
    background=background,
)
