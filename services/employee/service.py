"""The employee service's wiring: its gRPC API; it consumes no other service's events."""

from services.employee.api import register
from services.runtime.service import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="employee",
    full_service_name="erp.employee.v1.EmployeeService",
    register=register,
)
