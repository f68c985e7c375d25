"""Every outgoing RPC gets a deadline and the request's metadata, and is counted."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
from erp.employee.v1 import employee_service_pb2 as api
from starlette.datastructures import Headers

from gateway.call_policy import RPC_COUNTER, CallPolicyInterceptor, RpcCounter, counting_request
from gateway.clients import Clients
from gateway.view import call_context_from_headers
from services.runtime import context
from services.runtime.service import RunningService
from services.runtime.settings import Settings
from services.runtime.tracing import trace_id_of

METHOD = b"/erp.employee.v1.EmployeeService/GetEmployee"


async def intercepted(interceptor: CallPolicyInterceptor, deadline: float | None = None) -> grpc.aio.ClientCallDetails:
    seen: list[grpc.aio.ClientCallDetails] = []

    async def continuation(details: grpc.aio.ClientCallDetails, request: Any) -> None:
        seen.append(details)

    await interceptor.intercept_unary_unary(
        continuation, grpc.aio.ClientCallDetails(METHOD, deadline, None, None, None), api.GetEmployeeRequest()
    )
    return seen[0]


async def test_calls_get_the_deadline_and_the_bound_metadata() -> None:
    interceptor = CallPolicyInterceptor(deadline_s=3.5, counter=RpcCounter())
    correlation = uuid.uuid4()
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    with context.bound(context.CallContext(correlation_id=correlation, traceparent=traceparent)):
        details = await intercepted(interceptor)

    assert details.timeout == 3.5
    metadata = dict(details.metadata)
    assert metadata.keys() == {"x-erp-correlation-id", "traceparent"}
    assert metadata["x-erp-correlation-id"] == str(correlation)
    assert trace_id_of(metadata["traceparent"]) == trace_id_of(traceparent)  # the RPC's span, same trace
    assert (await intercepted(interceptor, deadline=30.0)).timeout == 30.0


async def test_the_callers_user_id_is_passed_on() -> None:
    interceptor = CallPolicyInterceptor(deadline_s=1, counter=RpcCounter())
    user = uuid.uuid4()

    with context.bound(call_context_from_headers(Headers({"x-erp-user-id": str(user)}))):
        details = await intercepted(interceptor)

    assert dict(details.metadata)["x-erp-user-id"] == str(user)
    assert call_context_from_headers(Headers({"x-erp-user-id": "not-a-uuid"})).user_id is None


async def test_rpcs_are_counted_per_request_and_per_process() -> None:
    process = RpcCounter()
    interceptor = CallPolicyInterceptor(deadline_s=1, counter=process)

    with counting_request() as request:
        await intercepted(interceptor)
        await intercepted(interceptor)
    await intercepted(interceptor)

    assert request.by_name() == {"GetEmployee": 2}
    assert process.methods == {METHOD.decode(): 3}


async def test_clients_channels_carry_the_policy(settings: Settings, employee_service: RunningService) -> None:
    clients = Clients(settings)
    RPC_COUNTER.reset()
    try:
        with counting_request() as request:
            await clients.employee.call(lambda s: s.ListDepartments(api.ListDepartmentsRequest(page_size=1)))
    finally:
        await clients.close()

    assert request.by_name() == RPC_COUNTER.by_name() == {"ListDepartments": 1}
