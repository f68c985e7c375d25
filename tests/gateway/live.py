"""A gateway served over real HTTP and WebSocket (uvicorn on a free port, in the test's event
loop), and a minimal graphql-transport-ws client on the `websockets` package."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect

from gateway.subscriptions.hub import EventHub

PROTOCOL = "graphql-transport-ws"


@contextlib.asynccontextmanager
async def serving(app: Starlette, *, send_buffer: int | None = None) -> AsyncIterator[str]:
    """Serve `app` (lifespan included) on 127.0.0.1; yields the base URL (http://127.0.0.1:port).

    `send_buffer`: the kernel send buffer of every accepted connection (inherited from the
    listening socket), so that writes to a client that does not read back up quickly."""
    config = uvicorn.Config(app, lifespan="on", log_config=None, ws_ping_interval=None)
    server = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if send_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    sock.bind(("127.0.0.1", 0))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if task.done():
            task.result()
        assert server.started, "uvicorn did not start"
        port = sock.getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 15)
        sock.close()


def hub_of(app: Starlette) -> EventHub:
    hub: EventHub = app.state.hub
    return hub


async def wait_for(predicate: Any, wait_s: float = 30.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + wait_s
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class WsClient:
    """graphql-transport-ws over a real WebSocket."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        base_url: str,
        *,
        small_buffers: bool = False,
        headers: dict[str, str] | None = None,
        init_payload: dict[str, Any] | None = None,
    ) -> AsyncIterator[WsClient]:
        """`small_buffers`: a client that stops reading soon (tiny socket buffer, no read-ahead),
        so the server's writes to it back up quickly while it does not read. `headers` go with the
        upgrade request, `init_payload` in `connection_init` (how browsers send a token)."""
        url = base_url.replace("http://", "ws://") + "/graphql"
        options: dict[str, Any] = {"subprotocols": [PROTOCOL], "compression": None, "ping_interval": None}
        if headers:
            options["additional_headers"] = headers
        sock = None
        if small_buffers:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, (host, int(port)))
            options.update(sock=sock, max_queue=1)
        async with connect(url, **options) as connection:
            client = cls(connection)
            await client.send({"type": "connection_init", "payload": init_payload or {}})
            ack = await client.receive()
            assert ack["type"] == "connection_ack", ack
            yield client

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def receive(self, wait_s: float = 45.0) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.connection.recv(), wait_s)
        message: dict[str, Any] = json.loads(raw)
        return message

    async def subscribe(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        id: str = "1",
        extensions: dict[str, Any] | None = None,
    ) -> None:
        payload: dict[str, Any] = {"query": query, "variables": variables or {}}
        if extensions is not None:
            payload["extensions"] = extensions
        await self.send({"id": id, "type": "subscribe", "payload": payload})

    async def next(self, wait_s: float = 45.0) -> dict[str, Any]:
        """The payload of the next `next` message (pings answered on the way)."""
        while True:
            message = await self.receive(wait_s)
            if message["type"] == "ping":
                await self.send({"type": "pong"})
                continue
            assert message["type"] == "next", message
            payload: dict[str, Any] = message["payload"]
            return payload
