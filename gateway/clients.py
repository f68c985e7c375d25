"""gRPC clients of the gateway: one grpc.aio channel per service, created on first use.

Every channel carries the call policy (deadline, correlation metadata, counting: see
`gateway.call_policy`); `ServiceClient.call` turns a failed RPC into a GraphQL error that names
the service.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Generic, TypeVar

import grpc
from erp.employee.v1 import employee_service_pb2_grpc as employee_grpc

from gateway.call_policy import RPC_COUNTER, CallPolicyInterceptor, RpcCounter
from gateway.errors import rpc_error
from services.runtime.settings import Settings

if TYPE_CHECKING:
    from erp.employee.v1.employee_service_pb2_grpc import EmployeeServiceAsyncStub

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


class Clients:
    """The process's channels; `close()` on shutdown."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.channels: dict[str, grpc.aio.Channel] = {}
        self._employee: ServiceClient[EmployeeServiceAsyncStub] | None = None

    def channel(self, service: str) -> grpc.aio.Channel:
        if service not in self.channels:
            self.channels[service] = grpc.aio.insecure_channel(
                self.settings.grpc_address(service),
                interceptors=[CallPolicyInterceptor(self.settings.rpc_deadline_s)],
            )
        return self.channels[service]

    @property
    def employee(self) -> ServiceClient[EmployeeServiceAsyncStub]:
        if self._employee is None:
            stub = employee_grpc.EmployeeServiceStub(self.channel("employee"))
            self._employee = ServiceClient("employee", stub)
        return self._employee

    async def close(self) -> None:
        channels, self.channels = list(self.channels.values()), {}
        self._employee = None
        for channel in channels:
            await channel.close()
