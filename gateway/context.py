"""The per-request context every resolver sees: clients, this request's loaders, its ids, its limits.

A WebSocket connection has one context for all its operations; each event a subscription
delivers is resolved with loaders of its own (`event_scope`), so a payload never shows what an
earlier event's resolution had cached.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info

from gateway.auth.tokens import AuthState
from gateway.call_policy import RpcCounter
from gateway.clients import Clients
from gateway.config import Limits
from gateway.loaders import Loaders
from services.runtime import context
from services.runtime.context import CallContext

if TYPE_CHECKING:
    from gateway.subscriptions.hub import EventHub

_event_loaders: ContextVar[Loaders | None] = ContextVar("gateway_event_loaders", default=None)


@dataclass
class GatewayContext:
    request: Request | WebSocket
    response: Response | WebSocket
    clients: Clients
    request_loaders: Loaders
    call: CallContext
    rpcs: RpcCounter
    limits: Limits = field(default_factory=Limits)
    hub: EventHub | None = None
    connection_params: dict[str, Any] | None = None  # graphql-transport-ws `connection_init` payload
    auth: AuthState = field(default_factory=AuthState)  # the authenticated caller (gateway.auth)

    @property
    def loaders(self) -> Loaders:
        """This request's loaders, or those of the subscription event being resolved."""
        return _event_loaders.get() or self.request_loaders


@contextlib.contextmanager
def event_scope(ctx: GatewayContext, call: CallContext) -> Iterator[Loaders]:
    """Fresh loaders and the event's call context while a subscription event is resolved.

    Used around a `yield` of a subscription generator: the resolution of the event runs in the
    generator's task between the yield and the next step, which leaves the scope."""
    token = _event_loaders.set(Loaders(ctx.clients))
    bound = context.bound(call)
    bound.__enter__()
    try:
        yield _event_loaders.get() or ctx.request_loaders
    finally:
        # A generator closed from another context cannot reset its variables: nothing to undo then.
        with contextlib.suppress(ValueError):
            bound.__exit__(None, None, None)
        with contextlib.suppress(ValueError):
            _event_loaders.reset(token)


GatewayInfo = Info[GatewayContext, None]
