"""gRPC server bootstrap shared by every service: health, reflection, interceptors, shutdown."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, cast

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.runtime import context, identity, metrics, tracing
from services.runtime.grpc_errors import status_for

log = logging.getLogger(__name__)

MD_USER = "x-erp-user-id"
MD_CORRELATION = "x-erp-correlation-id"
MD_TRACEPARENT = "traceparent"
MD_IDENTITY = identity.MD_IDENTITY

# Open even when security is enabled: orchestrators and tools probe them without an identity.
OPEN_METHOD_PREFIXES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)


def call_context_from_metadata(metadata: Sequence[tuple[str, Any]] | None) -> context.CallContext:
    md = {k: v for k, v in (metadata or ())}
    return context.CallContext(
        user_id=context.parse_uuid(md.get(MD_USER)),
        correlation_id=context.parse_uuid(md.get(MD_CORRELATION)),
        traceparent=md.get(MD_TRACEPARENT) if isinstance(md.get(MD_TRACEPARENT), str) else None,
    )


def verified_identity(metadata: Sequence[tuple[str, Any]] | None, keys: identity.IdentityKeys) -> identity.Identity:
    """The caller identity of a call's metadata, verified; identity.IdentityError otherwise."""
    md = {k: v for k, v in (metadata or ())}
    return keys.verify(md.get(MD_IDENTITY))


class DomainErrorInterceptor(grpc.aio.ServerInterceptor):
    """Binds the caller's context, turns exceptions into statuses (no internals leaked) and
    counts every call by method and status code, with its latency (metrics.py).

    With `identity_keys` (security enabled) every call but health checks and reflection must
    carry a valid signed identity (identity.py), else it is refused with UNAUTHENTICATED before
    the handler runs; the context's user id is then the verified identity's, never the plain
    `x-erp-user-id` header."""

    def __init__(self, service: str = "", identity_keys: identity.IdentityKeys | None = None) -> None:
        self.service = service
        self.identity_keys = identity_keys

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        open_method = handler_call_details.method.startswith(OPEN_METHOD_PREFIXES)
        keys = None if open_method else self.identity_keys  # what the caller's identity is verified with
        anonymous = open_method and self.identity_keys is not None
        if handler.unary_unary is None:
            if keys is not None:  # no streaming RPCs today; never let one bypass the check
                try:
                    verified_identity(handler_call_details.invocation_metadata, keys)
                except identity.IdentityError as exc:
                    return _refusing(handler, exc.reason)
            return handler
        # The stub types handlers for the synchronous server; under grpc.aio they are coroutines
        # that receive an aio ServicerContext.
        inner = cast(
            "Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]",
            handler.unary_unary,
        )
        metadata = handler_call_details.invocation_metadata
        method = handler_call_details.method.lstrip("/")
        service = self.service

        async def wrapped(request: Any, ctx: grpc.aio.ServicerContext[Any, Any]) -> Any:
            start = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                call = call_context_from_metadata(metadata)
                caller: identity.Identity | None = None
                if keys is not None:
                    try:
                        caller = verified_identity(metadata, keys)
                    except identity.IdentityError as exc:
                        code = grpc.StatusCode.UNAUTHENTICATED
                        await ctx.abort(code, exc.reason)
                    call = replace(call, user_id=caller.acting_user)
                elif anonymous:  # a health check or reflection with security on: nobody in particular
                    call = replace(call, user_id=None)
                with (
                    tracing.continued(call, method, tracing.SpanKind.SERVER),
                    _acting_as(caller),
                ):
                    try:
                        return await inner(request, ctx)
                    except grpc.aio.AbortError:
                        code = _aborted_code(ctx)
                        raise
                    except Exception as exc:
                        status = status_for(exc)
                        code = status.code
                        await ctx.abort(status.code, status.details, status.trailing_metadata)
            finally:
                metrics.GRPC_LATENCY.labels(service, method).observe(time.perf_counter() - start)
                metrics.GRPC_REQUESTS.labels(service, method, code.name).inc()

        return grpc.unary_unary_rpc_method_handler(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _acting_as(caller: identity.Identity | None) -> contextlib.AbstractContextManager[object]:
    return identity.acting_as(caller) if caller is not None else contextlib.nullcontext()


def _refusing(handler: grpc.RpcMethodHandler[Any, Any], reason: str) -> grpc.RpcMethodHandler[Any, Any]:
    """A handler of the same shape as `handler` that refuses the call (UNAUTHENTICATED)."""

    async def refuse(_: Any, ctx: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await ctx.abort(grpc.StatusCode.UNAUTHENTICATED, reason)

    behaviour = cast(Any, refuse)
    kwargs: dict[str, Any] = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(behaviour, **kwargs)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(behaviour, **kwargs)
    return grpc.stream_stream_rpc_method_handler(behaviour, **kwargs)


def _aborted_code(ctx: grpc.aio.ServicerContext[Any, Any]) -> grpc.StatusCode:
    code = ctx.code()
    return code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN


def service_label(full_service_name: str) -> str:
    """`erp.employee.v1.EmployeeService` -> `employee` (the metrics' service label)."""
    parts = full_service_name.split(".")
    return parts[1] if len(parts) > 2 else full_service_name


class GrpcServer:
    """A grpc.aio server with the standard health service and server reflection."""

    def __init__(
        self,
        address: str,
        service_names: list[str],
        *,
        identity_keys: identity.IdentityKeys | None = None,
        credentials: grpc.ServerCredentials | None = None,
    ) -> None:
        """`identity_keys`: require a signed caller identity (security enabled); `credentials`:
        serve TLS (tls.server_credentials: mutual TLS) instead of plaintext."""
        self.address = address
        label = service_label(service_names[0]) if service_names else ""
        self.server = grpc.aio.server(
            interceptors=[DomainErrorInterceptor(label, identity_keys)],
            options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 32 * 1024 * 1024)],
        )
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.service_names = service_names
        reflection.enable_server_reflection(
            [*service_names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
            self.server,
        )
        if credentials is not None:
            self.port = self.server.add_secure_port(address, credentials)
        else:
            self.port = self.server.add_insecure_port(address)

    async def start(self) -> None:
        await self.server.start()
        for name in ["", *self.service_names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("gRPC listening on %s", self.address)

    async def stop(self, grace_s: float = 5.0) -> None:
        """Graceful: report NOT_SERVING, let in-flight calls finish, then close."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace_s)
