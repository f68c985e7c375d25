"""The GraphQL HTTP endpoint: binds each request's correlation id and builds its context."""

from __future__ import annotations

import logging
import re
import uuid

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema import BaseSchema

from gateway.call_policy import RpcCounter, counting_request, request_counter
from gateway.clients import Clients
from gateway.context import GatewayContext
from gateway.loaders import Loaders
from services.runtime import context
from services.runtime.grpc_server import MD_CORRELATION, MD_TRACEPARENT, MD_USER

log = logging.getLogger(__name__)

TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def call_context_from_headers(headers: Headers) -> context.CallContext:
    """A caller's correlation id is kept when it is a UUID; otherwise the request gets a new one.

    The caller's user id (`x-erp-user-id`, a UUID) is passed on to the services, which record it
    and enforce rules with it (e.g. who may approve a payroll run). The gateway does not
    authenticate: whatever sits in front of it must set or strip that header.
    """
    traceparent = headers.get(MD_TRACEPARENT, "").strip().lower()
    return context.CallContext(
        user_id=context.parse_uuid(headers.get(MD_USER)),
        correlation_id=context.parse_uuid(headers.get(MD_CORRELATION)) or uuid.uuid4(),
        traceparent=traceparent if TRACEPARENT.match(traceparent) else None,
    )


class GatewayView(GraphQL[GatewayContext, None]):
    def __init__(self, schema: BaseSchema, clients: Clients) -> None:
        super().__init__(schema, graphql_ide="graphiql", allow_queries_via_get=True)
        self.clients = clients

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        with context.bound(call_context_from_headers(Headers(scope=scope))), counting_request() as rpcs:
            await super().__call__(scope, receive, send)
            log.debug("request answered with %d RPCs: %s", rpcs.total, rpcs.by_name())

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> GatewayContext:
        call = context.current()
        rpcs = request_counter() or RpcCounter()
        if isinstance(response, Response):
            response.headers[MD_CORRELATION] = str(call.correlation_id)
        return GatewayContext(
            request=request,
            response=response,
            clients=self.clients,
            loaders=Loaders(self.clients),
            call=call,
            rpcs=rpcs,
        )
