"""The per-request context every resolver sees: clients, this request's loaders, its ids."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.types import Info

from gateway.call_policy import RpcCounter
from gateway.clients import Clients
from gateway.loaders import Loaders
from services.runtime.context import CallContext


@dataclass
class GatewayContext:
    request: Request | WebSocket
    response: Response | WebSocket
    clients: Clients
    loaders: Loaders
    call: CallContext
    rpcs: RpcCounter


GatewayInfo = Info[GatewayContext, None]
