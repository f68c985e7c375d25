"""The gateway's ASGI application: GraphQL (with GraphiQL) at /graphql, liveness at /healthz."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.clients import Clients
from gateway.schema import schema
from gateway.view import GatewayView
from services.runtime.settings import Settings


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings) -> Starlette:
    """One set of channels per app, closed at shutdown; loaders are per request (see GatewayView)."""
    clients = Clients(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await clients.close()

    app = Starlette(
        routes=[Route("/healthz", healthz, methods=["GET"]), Route("/graphql", GatewayView(schema, clients))],
        lifespan=lifespan,
    )
    app.state.clients = clients
    app.state.settings = settings
    return app
