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
from erp.finance.v1 import finance_service_pb2_grpc as finance_grpc
from erp.inventory.v1 import inventory_service_pb2_grpc as inventory_grpc
from erp.payroll.v1 import payroll_service_pb2_grpc as payroll_grpc
from erp.procurement.v1 import procurement_service_pb2_grpc as procurement_grpc
from erp.supply_chain.v1 import supply_chain_service_pb2_grpc as supply_chain_grpc

from gateway.breaker import CircuitBreaker, CircuitOpen
from gateway.call_policy import RPC_COUNTER, CallPolicyInterceptor, RpcCounter
from gateway.config import GatewayConfig
from gateway.errors import circuit_open_error, rpc_error
from services.runtime.settings import Settings
from services.runtime.tls import channel_credentials

if TYPE_CHECKING:
    from erp.accounting.v1.accounting_service_pb2_grpc import AccountingServiceAsyncStub
    from erp.billing.v1.billing_service_pb2_grpc import BillingServiceAsyncStub
    from erp.employee.v1.employee_service_pb2_grpc import EmployeeServiceAsyncStub
    from erp.finance.v1.finance_service_pb2_grpc import FinanceServiceAsyncStub
    from erp.inventory.v1.inventory_service_pb2_grpc import InventoryServiceAsyncStub
    from erp.payroll.v1.payroll_service_pb2_grpc import PayrollServiceAsyncStub
    from erp.procurement.v1.procurement_service_pb2_grpc import ProcurementServiceAsyncStub
    from erp.supply_chain.v1.supply_chain_service_pb2_grpc import SupplyChainServiceAsyncStub

__all__ = ["RPC_COUNTER", "Clients", "RpcCounter", "ServiceClient"]

StubT = TypeVar("StubT")
R = TypeVar("R")


class ServiceClient(Generic[StubT]):
    """A service's stub plus the service's name (for errors) and its circuit breaker."""

    def __init__(self, service: str, stub: StubT, breaker: CircuitBreaker | None = None) -> None:
        self.service = service
        self.stub = stub
        self.breaker = breaker or CircuitBreaker(service)

    async def call(self, rpc: Callable[[StubT], Awaitable[R]]) -> R:
        """`await client.call(lambda s: s.GetEmployee(request))`; no RPC at all while the circuit is open."""
        try:
            self.breaker.before_call()
        except CircuitOpen as exc:
            raise circuit_open_error(self.service, exc.retry_after_s) from None
        try:
            result = await rpc(self.stub)
        except grpc.aio.AioRpcError as exc:
            self.breaker.on_result(exc.code())
            raise rpc_error(self.service, exc) from None
        except BaseException:
            self.breaker.abandoned()
            raise
        self.breaker.on_result(grpc.StatusCode.OK)
        return result


# Service name -> the generated stub class of its gRPC service.
STUBS: dict[str, Callable[[grpc.aio.Channel], Any]] = {
    "employee": employee_grpc.EmployeeServiceStub,
    "payroll": payroll_grpc.PayrollServiceStub,
    "accounting": accounting_grpc.AccountingServiceStub,
    "inventory": inventory_grpc.InventoryServiceStub,
    "billing": billing_grpc.BillingServiceStub,
    "procurement": procurement_grpc.ProcurementServiceStub,
    "supply_chain": supply_chain_grpc.SupplyChainServiceStub,
    "finance": finance_grpc.FinanceServiceStub,
}


# A restarted service is found again within a couple of seconds (gRPC's default backoff grows
# to two minutes), so the breaker's half-open probe meets a connected channel.
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2000),
]


class Clients:
    """The process's channels and circuit breakers (one per service); `close()` on shutdown."""

    def __init__(self, settings: Settings, config: GatewayConfig | None = None) -> None:
        self.settings = settings
        self.config = config or GatewayConfig()
        self.channels: dict[str, grpc.aio.Channel] = {}
        self.breakers: dict[str, CircuitBreaker] = {}
        self._clients: dict[str, ServiceClient[Any]] = {}

    def channel(self, service: str) -> grpc.aio.Channel:
        if service not in self.channels:
            address = self.settings.grpc_address(service)
            interceptors = [CallPolicyInterceptor(self.settings.rpc_deadline_s)]
            if self.settings.tls_dir:  # mutual TLS with the gateway's certificate (`erp certs`)
                credentials = channel_credentials(self.settings.tls_dir, "gateway")
                self.channels[service] = grpc.aio.secure_channel(
                    address, credentials, options=CHANNEL_OPTIONS, interceptors=interceptors
                )
            else:
                self.channels[service] = grpc.aio.insecure_channel(
                    address, options=CHANNEL_OPTIONS, interceptors=interceptors
                )
        return self.channels[service]

    def breaker(self, service: str) -> CircuitBreaker:
        if service not in self.breakers:
            self.breakers[service] = CircuitBreaker(
                service, failures=self.config.breaker_failures, cooldown_s=self.config.breaker_cooldown_s
            )
        return self.breakers[service]

    def client(self, service: str) -> ServiceClient[Any]:
        if service not in self._clients:
            self._clients[service] = ServiceClient(
                service, STUBS[service](self.channel(service)), self.breaker(service)
            )
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

    @property
    def supply_chain(self) -> ServiceClient[SupplyChainServiceAsyncStub]:
        return self.client("supply_chain")

    @property
    def finance(self) -> ServiceClient[FinanceServiceAsyncStub]:
        return self.client("finance")

    async def close(self) -> None:
        channels, self.channels = list(self.channels.values()), {}
        self._clients = {}
        for channel in channels:
            await channel.close()
