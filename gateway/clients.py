"""gRPC clients of the gateway: one grpc.aio channel per service, created on first use.

Every channel carries the call policy (deadline, correlation metadata, counting: see
`gateway.call_policy`); `ServiceClient.call` turns a failed RPC into a GraphQL error that names
the service.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import grpc
from erp.accounting.v1 import accounting_service_pb2_grpc as accounting_grpc
from erp.billing.v1 import billing_service_pb2_grpc as billing_grpc
from erp.employee.v1 import employee_service_pb2_grpc as employee_grpc
from erp.inventory.v1 import inventory_service_pb2_grpc as inventory_grpc
from erp.payroll.v1 import payroll_service_pb2_grpc as payroll_grpc
from erp.procurement.v1 import procurement_service_pb2_grpc as procurement_grpc

from gateway.call_policy import RPC_COUNTER, CallPolicyInterceptor, RpcCounter
from gateway.errors import rpc_error
from services.runtime.settings import Settings

if TYPE_CHECKING:
    from erp.accounting.v1.accounting_service_pb2_grpc import AccountingServiceAsyncStub
    from erp.billing.v1.billing_service_pb2_grpc import BillingServiceAsyncStub
    from erp.employee.v1.employee_service_pb2_grpc import EmployeeServiceAsyncStub
    from erp.inventory.v1.inventory_service_pb2_grpc import InventoryServiceAsyncStub
    from erp.payroll.v1.payroll_service_pb2_grpc import PayrollServiceAsyncStub
    from erp.procurement.v1.procurement_service_pb2_grpc import ProcurementServiceAsyncStub

__all__ = ["RPC_COUNTER", "Clients", "RpcCounter", "ServiceClient"]

StubT = TypeVar("StubT")
R = TypeVar("R")


class ServiceClient(Generic[StubT]):
    """A service's stub plus the service's name, for errors."""

    def __init__(self, service: str, stub: StubT) -> None:
        self.service = service
        self.stub = stub

    async def call(self, rpc: Callable[[StubT], Awaitable[R]]) -> R:
        """`await client.call(lambda s: s.GetEmployee(request))`."""
        try:
            return await rpc(self.stub)
        except grpc.aio.AioRpcError as exc:
            raise rpc_error(self.service, exc) from None


# Service name -> the generated stub class of its gRPC service.
STUBS: dict[str, Callable[[grpc.aio.Channel], Any]] = {
    "employee": employee_grpc.EmployeeServiceStub,
    "payroll": payroll_grpc.PayrollServiceStub,
    "accounting": accounting_grpc.AccountingServiceStub,
    "inventory": inventory_grpc.InventoryServiceStub,
    "billing": billing_grpc.BillingServiceStub,
    "procurement": procurement_grpc.ProcurementServiceStub,
}


class Clients:
    """The process's channels; `close()` on shutdown."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.channels: dict[str, grpc.aio.Channel] = {}
        self._clients: dict[str, ServiceClient[Any]] = {}

    def channel(self, service: str) -> grpc.aio.Channel:
        if service not in self.channels:
            self.channels[service] = grpc.aio.insecure_channel(
                self.settings.grpc_address(service),
                interceptors=[CallPolicyInterceptor(self.settings.rpc_deadline_s)],
            )
        return self.channels[service]

    def client(self, service: str) -> ServiceClient[Any]:
        if service not in self._clients:
            self._clients[service] = ServiceClient(service, STUBS[service](self.channel(service)))
        return self._clients[service]

    @property
    def employee(self) -> ServiceClient[EmployeeServiceAsyncStub]:
        return self.client("employee")

    @property
    def payroll(self) -> ServiceClient[PayrollServiceAsyncStub]:
        return self.client("payroll")

    @property
    def accounting(self) -> ServiceClient[AccountingServiceAsyncStub]:
        return self.client("accounting")

    @property
    def inventory(self) -> ServiceClient[InventoryServiceAsyncStub]:
        return self.client("inventory")

    @property
    def billing(self) -> ServiceClient[BillingServiceAsyncStub]:
        return self.client("billing")

    @property
    def procurement(self) -> ServiceClient[ProcurementServiceAsyncStub]:
        return self.client("procurement")

    async def close(self) -> None:
        channels, self.channels = list(self.channels.values()), {}
        self._clients = {}
        for channel in channels:
            await channel.close()
