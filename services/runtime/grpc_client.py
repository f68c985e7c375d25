"""Channels a service uses to call another service (`ServiceDeps.channel`).

Every call carries the caller's context as the gateway's calls do (correlation id, traceparent,
user id) and, when security is enabled, the calling service's own signed identity
(`service:<name>`, acting on behalf of the user whose request or event it is handling). With
ERP_TLS_DIR the channel is mutual TLS with the service's certificate.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Container, Iterable
from typing import Any, cast

import grpc

from services.runtime import context, identity, tls
from services.runtime.grpc_server import MD_CORRELATION, MD_TRACEPARENT, MD_USER
from services.runtime.settings import Settings


def call_metadata(
    existing: grpc.aio.Metadata | None,
    *,
    traceparent: str | None = None,
    extra: Iterable[tuple[str, str | None]] = (),
) -> grpc.aio.Metadata:
    """The call's metadata plus the bound context (correlation id, `traceparent` or the bound one,
    user id) and `extra`, each unless the call sets it already: what every outgoing call carries,
    from the gateway or from a service."""
    metadata = grpc.aio.Metadata(*(existing or ()))
    ctx = context.current()
    pairs: list[tuple[str, str | None]] = [
        (MD_CORRELATION, str(ctx.correlation_id) if ctx.correlation_id else None),
        (MD_TRACEPARENT, traceparent or ctx.traceparent),
        (MD_USER, str(ctx.user_id) if ctx.user_id else None),
        *extra,
    ]
    keys_present = cast("Container[str]", metadata)  # `in` tests keys (the stub says pairs)
    for key, value in pairs:
        if value and key not in keys_present:
            metadata.add(key, value)
    return metadata


def caller_metadata(
    existing: grpc.aio.Metadata | None, service: str, keys: identity.IdentityKeys | None
) -> grpc.aio.Metadata:
    """The call's metadata plus the bound context and (keys given) the service identity, unless set."""
    signed = identity.service_metadata(service, keys, context.current().user_id) if keys is not None else []
    return call_metadata(existing, extra=signed)


class ServiceCallInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    def __init__(self, service: str, keys: identity.IdentityKeys | None) -> None:
        self.service = service
        self.keys = keys

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        details = grpc.aio.ClientCallDetails(
            method=client_call_details.method,
            timeout=client_call_details.timeout,
            metadata=caller_metadata(client_call_details.metadata, self.service, self.keys),
            credentials=client_call_details.credentials,
            wait_for_ready=client_call_details.wait_for_ready,
        )
        return await continuation(details, request)


def service_channel(
    settings: Settings, target: str, *, caller: str, keys: identity.IdentityKeys | None
) -> grpc.aio.Channel:
    """A channel from service `caller` to service `target`."""
    interceptors = [ServiceCallInterceptor(caller, keys)]
    address = settings.grpc_address(target)
    if settings.tls_dir is not None:
        credentials = tls.channel_credentials(settings.tls_dir, caller)
        return grpc.aio.secure_channel(address, credentials, interceptors=interceptors)
    return grpc.aio.insecure_channel(address, interceptors=interceptors)
