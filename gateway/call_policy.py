"""What every outgoing RPC of the gateway gets: a deadline, the caller's metadata (correlation
id, user id, and the traceparent of a client span for the RPC, child of the request's span) and a
place in the RPC counts (process-wide and per GraphQL request).

A grpc.aio client interceptor installed on every channel applies it, so no call can forget it.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any

import grpc
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from services.runtime import context, identity, tracing
from services.runtime.grpc_client import call_metadata


class RpcCounter:
    """Counts RPCs by full method name ("/erp.employee.v1.EmployeeService/BatchGetEmployees")."""

    def __init__(self) -> None:
        self.methods: Counter[str] = Counter()

    def record(self, method: str) -> None:
        self.methods[method] += 1

    @property
    def total(self) -> int:
        return sum(self.methods.values())

    def by_name(self) -> dict[str, int]:
        """Counts keyed by the RPC's short name ("BatchGetEmployees")."""
        out: Counter[str] = Counter()
        for method, n in self.methods.items():
            out[method.rsplit("/", 1)[-1]] += n
        return dict(out)

    def reset(self) -> None:
        self.methods.clear()


# Every RPC this process made (tests read and reset it).
RPC_COUNTER = RpcCounter()

_request_counter: ContextVar[RpcCounter | None] = ContextVar("gateway_request_rpcs", default=None)


@contextlib.contextmanager
def counting_request() -> Iterator[RpcCounter]:
    """Count the RPCs made while handling one request."""
    counter = RpcCounter()
    token = _request_counter.set(counter)
    try:
        yield counter
    finally:
        _request_counter.reset(token)


def request_counter() -> RpcCounter | None:
    return _request_counter.get()


def outgoing_metadata(existing: grpc.aio.Metadata | None, traceparent: str | None = None) -> grpc.aio.Metadata:
    """The call's metadata plus the bound correlation id, traceparent (the RPC's span when there
    is one) and caller, and the signed caller when one is bound, unless already set."""
    return call_metadata(existing, traceparent=traceparent, extra=identity.forwarded_metadata())


class CallPolicyInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, deadline_s: float, counter: RpcCounter = RPC_COUNTER) -> None:
        self.deadline_s = deadline_s
        self.counter = counter

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        method = client_call_details.method
        name = method.decode() if isinstance(method, bytes) else str(method)
        self.counter.record(name)
        per_request = request_counter()
        if per_request is not None:
            per_request.record(name)
        timeout = client_call_details.timeout
        attributes = {"rpc.system": "grpc", "rpc.method": name}
        with tracing.span(name.lstrip("/"), SpanKind.CLIENT, context.current().traceparent, attributes) as traceparent:
            details = grpc.aio.ClientCallDetails(
                method=method,
                timeout=self.deadline_s if timeout is None else timeout,
                metadata=outgoing_metadata(client_call_details.metadata, traceparent),
                credentials=client_call_details.credentials,
                wait_for_ready=client_call_details.wait_for_ready,
            )
            call = await continuation(details, request)
            if isinstance(call, grpc.aio.Call):  # the span lasts until the answer
                code = await call.code()
                if code != grpc.StatusCode.OK:
                    trace.get_current_span().set_status(Status(StatusCode.ERROR, code.name))
            return call
