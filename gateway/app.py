"""The gateway's ASGI application: GraphQL at /graphql (HTTP GET/POST, GraphiQL, and
subscriptions over WebSocket), liveness at /healthz, Prometheus metrics at /metrics."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from nats.aio.client import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from gateway.clients import Clients
from gateway.config import GatewayConfig
from gateway.documents import PersistedDocuments, load_manifest
from gateway.schema import schema
from gateway.subscriptions.hub import EventHub
from gateway.view import GatewayView
from services.runtime import identity, tracing
from services.runtime.jetstream import connect
from services.runtime.metrics import MeteredGraphQL, exposition
from services.runtime.settings import Settings

log = logging.getLogger(__name__)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus metrics of the gateway process (GraphQL requests and latency, see runtime/metrics.py)."""
    body, content_type = exposition()
    return Response(body, media_type=content_type)


def create_app(settings: Settings, config: GatewayConfig | None = None) -> Starlette:
    """One set of channels and circuit breakers per app, closed at shutdown; loaders are per
    request (see GatewayView). NATS (settings.nats_url) feeds the subscriptions: connected at
    startup, the gateway serves queries without it when it cannot be reached."""
    config = config or GatewayConfig.from_env()
    tracing.configure("gateway")
    clients = Clients(settings, config)
    trusted = {k: v for path in config.trusted_documents for k, v in load_manifest(path).items()}
    documents = PersistedDocuments(
        apq=config.apq,
        cache_size=config.apq_cache_size,
        trusted=trusted if config.trusted_documents else None,
        max_tokens=config.limits.max_tokens,
    )
    view = GatewayView(schema, clients, config, documents)
    if settings.security:  # forward the caller's identity, signed (services.runtime.identity)
        view.identity_signer = identity.load_identity_keys(settings)
    endpoint = MeteredGraphQL(view)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nc: Client | None = None
        if settings.nats_url:
            try:
                nc = await connect(settings.nats_url, "erp-gateway")
            except Exception as exc:
                log.error("no NATS at startup (%s): subscriptions are unavailable", exc)
        view.hub = app.state.hub = EventHub(nc, settings.subject_root, config.subscription_queue)
        try:
            yield
        finally:
            await view.hub.close()
            if nc is not None:
                with contextlib.suppress(Exception):
                    await nc.close()
            await clients.close()

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            Route("/graphql", endpoint),
            WebSocketRoute("/graphql", endpoint),
        ],
        lifespan=lifespan,
    )
    app.state.clients = clients
    app.state.settings = settings
    app.state.config = config
    app.state.documents = documents
    app.state.view = view
    app.state.hub = None
    return app
