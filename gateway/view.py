"""The GraphQL endpoint: HTTP per the GraphQL-over-HTTP specification (`gateway.http`), and
subscriptions over WebSocket with the graphql-transport-ws protocol.

Each HTTP request gets its call context (correlation id, caller, and a server span continuing the
caller's W3C trace or starting one), its RPC counter and its own loaders. The operation's
document comes from the request, the APQ store or the trusted documents (`gateway.documents`);
the limits (`gateway.limits`) refuse it during validation, before any resolver runs.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import Any, cast

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnected
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http.exceptions import WebSocketDisconnected as StrawberryWebSocketDisconnected
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from gateway.auth.tokens import Authenticator, AuthState
from gateway.call_policy import RpcCounter, counting_request, request_counter
from gateway.clients import Clients
from gateway.config import GatewayConfig
from gateway.context import GatewayContext
from gateway.documents import DocumentError, PersistedDocuments
from gateway.http import (
    GRAPHQL_RESPONSE,
    JSON,
    HttpError,
    Params,
    check_content_type,
    error_body,
    negotiate,
    params_from_body,
    params_from_query_string,
)
from gateway.loaders import Loaders
from gateway.subscriptions.hub import EventHub
from services.runtime import context, identity, tracing
from services.runtime.grpc_server import MD_CORRELATION, MD_TRACEPARENT, MD_USER

log = logging.getLogger(__name__)

TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
MAX_BODY = 2 * 1024 * 1024

_request_auth: ContextVar[AuthState | None] = ContextVar("gateway_request_auth", default=None)


def call_context_from_headers(headers: Headers) -> context.CallContext:
    """A caller's correlation id is kept when it is a UUID; otherwise the request gets a new one.

    The caller's user id (`x-erp-user-id`, a UUID) is passed on to the services, which record it
    and enforce rules with it (e.g. who may approve a payroll run) — only while authentication is
    disabled: when it is required, the user id is the bearer token's (`GatewayView.caller`).
    """
    traceparent = headers.get(MD_TRACEPARENT, "").strip().lower()
    return context.CallContext(
        user_id=context.parse_uuid(headers.get(MD_USER)),
        correlation_id=context.parse_uuid(headers.get(MD_CORRELATION)) or uuid.uuid4(),
        traceparent=traceparent if TRACEPARENT.match(traceparent) else None,
    )


class GatewayTransportWSHandler(BaseGraphQLTransportWSHandler[GatewayContext, None]):
    """graphql-transport-ws, with the document of a `subscribe` taken like an HTTP request's:
    persisted (APQ) or trusted documents apply to WebSocket operations too."""

    async def handle_task_exception(self, error: Exception) -> None:
        # e.g. a slow subscriber's connection, closed by the hub while its operation was sending
        if isinstance(error, (WebSocketDisconnected, StrawberryWebSocketDisconnected)):
            log.debug("operation ended with its connection: %s", error)
            return
        await super().handle_task_exception(error)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        view = cast("GatewayView", self.view)
        payload: dict[str, Any] = dict(message.get("payload") or {})
        if self.connection_acknowledged and message.get("id") not in self.operations:
            try:
                query = view.documents.resolve(payload.get("query"), payload.get("extensions"))
                if query is None:
                    raise DocumentError("missing `query`", "BAD_REQUEST")
            except DocumentError as exc:
                await self.send_message(
                    {
                        "id": message["id"],
                        "type": "error",
                        "payload": [{"message": exc.message, "extensions": {"code": exc.code}}],
                    }
                )
                return
            payload["query"] = query
        await super().handle_subscribe(cast("SubscribeMessage", {**message, "payload": payload}))


class GatewayView(GraphQL[GatewayContext, None]):
    graphql_transport_ws_handler_class = GatewayTransportWSHandler

    def __init__(
        self,
        schema: BaseSchema,
        clients: Clients,
        config: GatewayConfig | None = None,
        documents: PersistedDocuments | None = None,
    ) -> None:
        self.config = config or GatewayConfig()
        super().__init__(
            schema,
            graphql_ide="graphiql",
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=self.config.max_subscriptions,
        )
        self.clients = clients
        self.documents = (
            documents
            if documents is not None
            else PersistedDocuments(apq=self.config.apq, cache_size=self.config.apq_cache_size)
        )
        self.hub: EventHub | None = None  # set once NATS is connected (app lifespan)
        self.authenticator = Authenticator(self.config.auth)
        # Signs the caller's identity forwarded to the services (services.runtime.identity); set by
        # create_app when ERP_SECURITY is enabled.
        self.identity_signer: identity.IdentityKeys | None = None

    async def caller(self, headers: Headers) -> tuple[context.CallContext, AuthState]:
        """The request's call context and its caller: with authentication required, the user id
        is the verified token's, never the `x-erp-user-id` header's."""
        incoming = call_context_from_headers(headers)
        auth = await self.authenticator.authenticate(headers.get("authorization"))
        if auth.required:
            incoming = replace(incoming, user_id=auth.principal.user_id if auth.principal else None)
        return incoming, auth

    @contextmanager
    def acting_for(self, call: context.CallContext, auth: AuthState) -> Iterator[None]:
        """Binds the caller whose identity every RPC of the request forwards, signed."""
        with ExitStack() as stack:
            if self.identity_signer is not None and call.user_id is not None:
                roles = auth.principal.roles if auth.principal else ()
                stack.enter_context(
                    identity.acting_as(identity.Identity.for_user(call.user_id, roles), self.identity_signer)
                )
            token = _request_auth.set(auth)
            try:
                yield
            finally:
                _request_auth.reset(token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            call, auth = await self.caller(Headers(scope=scope))
            with context.bound(call), self.acting_for(call, auth):
                await super().__call__(scope, receive, send)
            return
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        incoming, auth = await self.caller(Headers(scope=scope))
        attributes = {"http.request.method": scope.get("method", ""), "url.path": scope.get("path", "")}
        with (
            tracing.span("graphql", tracing.SpanKind.SERVER, incoming.traceparent, attributes) as traceparent,
            context.bound(replace(incoming, traceparent=traceparent)),
            self.acting_for(incoming, auth),
            counting_request() as rpcs,
        ):
            request = Request(scope, receive)
            try:
                response = await self.handle(request)
            except HttpError as exc:
                response = self.error_response(exc, negotiate(request.headers.get("accept")) or JSON)
            response.headers[MD_CORRELATION] = str(context.current().correlation_id)
            if traceparent:  # W3C Trace Context level 2: the trace this request was served in
                response.headers["traceresponse"] = traceparent
            await response(scope, receive, send)
            log.debug("request answered with %d RPCs: %s", rpcs.total, rpcs.by_name())

    async def handle(self, request: Request) -> Response:
        method = request.method
        if method not in ("GET", "POST"):
            raise HttpError(
                405,
                f"{method} is not supported: use GET (queries) or POST",
                "METHOD_NOT_ALLOWED",
                {"Allow": "GET, POST"},
            )
        if method == "GET" and self._wants_ide(request):
            return HTMLResponse(self.graphql_ide_html)
        media = negotiate(request.headers.get("accept"))
        if media is None:
            raise HttpError(406, f"responses are {GRAPHQL_RESPONSE} or {JSON}", "NOT_ACCEPTABLE")
        if method == "GET":
            params = params_from_query_string(request.query_params)
        else:
            check_content_type(request.headers.get("content-type"))
            body = await request.body()
            if len(body) > MAX_BODY:
                raise HttpError(413, f"the body exceeds {MAX_BODY} bytes", "PAYLOAD_TOO_LARGE")
            params = params_from_body(body)
        try:
            query = self.documents.resolve(params.query, params.extensions)
        except DocumentError as exc:
            return self.json_response(error_body(exc.message, exc.code), media, request_error=True)
        if query is None:
            raise HttpError(
                400, "missing `query`: send a GraphQL document (or a persisted query's hash)", "BAD_REQUEST"
            )
        return await self.execute(request, params, query, media)

    async def execute(self, request: Request, params: Params, query: str, media: str) -> Response:
        sub_response = Response()
        ctx = await self.get_context(request, sub_response)
        allowed = {OperationType.QUERY} if request.method == "GET" else {OperationType.QUERY, OperationType.MUTATION}
        try:
            result = await self.schema.execute(
                query,
                variable_values=params.variables,
                context_value=ctx,
                operation_name=params.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=params.extensions,
            )
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                raise HttpError(
                    405,
                    "subscriptions are served over WebSocket (graphql-transport-ws) at this path",
                    "METHOD_NOT_ALLOWED",
                    {"Allow": "GET, POST"},
                ) from None
            raise HttpError(
                405, "GET serves queries only: send mutations with POST", "METHOD_NOT_ALLOWED", {"Allow": "POST"}
            ) from None
        except CannotGetOperationTypeError as exc:
            raise HttpError(400, exc.as_http_error_reason(), "BAD_REQUEST") from None
        except MissingQueryError:
            raise HttpError(400, "missing `query`", "BAD_REQUEST") from None
        body, request_error = self.render(result)
        response = self.json_response(body, media, request_error=request_error)
        for key, value in sub_response.headers.items():
            if key.lower() not in ("content-length", "content-type"):
                response.headers[key] = value
        return response

    @staticmethod
    def render(result: ExecutionResult) -> tuple[dict[str, Any], bool]:
        """The response body, and whether the request failed before execution (no `data` then)."""
        errors = result.errors or []
        request_error = result.data is None and bool(errors) and all(e.path is None for e in errors)
        body: dict[str, Any] = {} if request_error else {"data": result.data}
        if errors:
            body["errors"] = [e.formatted for e in errors]
        if result.extensions:
            body["extensions"] = result.extensions
        return body, request_error

    @staticmethod
    def json_response(body: dict[str, Any], media: str, *, request_error: bool) -> Response:
        status = 400 if request_error and media == GRAPHQL_RESPONSE else 200
        return Response(json.dumps(body, separators=(",", ":")), status_code=status, media_type=media)

    @staticmethod
    def error_response(exc: HttpError, media: str) -> Response:
        response = Response(
            json.dumps(error_body(exc.message, exc.code), separators=(",", ":")),
            status_code=exc.status,
            media_type=media,
        )
        for key, value in exc.headers.items():
            response.headers[key] = value
        return response

    def _wants_ide(self, request: Request) -> bool:
        accept = request.headers.get("accept", "")
        return (
            self.graphql_ide is not None
            and "text/html" in accept
            and "query" not in request.query_params
            and "extensions" not in request.query_params
        )

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> GatewayContext:
        call = context.current()
        rpcs = request_counter() or RpcCounter()
        if isinstance(response, Response):
            response.headers[MD_CORRELATION] = str(call.correlation_id)
        return GatewayContext(
            request=request,
            response=response,
            clients=self.clients,
            request_loaders=Loaders(self.clients),
            call=call,
            rpcs=rpcs,
            limits=self.config.limits,
            hub=self.hub,
            auth=_request_auth.get() or AuthState(required=self.authenticator.config.required),
        )

    async def on_ws_connect(self, context: GatewayContext) -> Any:
        """A token in the `connection_init` payload (`Authorization` or `authorization`), for
        clients that cannot set headers on the WebSocket upgrade (browsers)."""
        params = context.connection_params or {}
        raw = params.get("Authorization") or params.get("authorization")
        if isinstance(raw, str) and context.auth.principal is None and context.auth.required:
            context.auth = await self.authenticator.authenticate(raw)
        return await super().on_ws_connect(context)
