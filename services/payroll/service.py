"""The payroll service's wiring: its gRPC API and the employee and accounting events it follows."""

from services.payroll.api import register
from services.payroll.handlers import handlers
from services.runtime.service import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="payroll",
    full_service_name="erp.payroll.v1.PayrollService",
    register=register,
    handlers=handlers,
)
