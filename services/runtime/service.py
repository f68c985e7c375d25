"""Wiring one service process: database, NATS, gRPC server, outbox relay and consumers.

A service declares a `ServiceDefinition` (in its `service.py`); `run_service` does the rest.
Run one with `python -m services.runtime.serve <name>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import grpc
from nats.aio.client import Client
from nats.js import JetStreamContext

from services.runtime.clock import Clock, SystemClock
from services.runtime.consumer import EventConsumer, Handler
from services.runtime.db import Database
from services.runtime.events import load_event_modules
from services.runtime.grpc_client import service_channel
from services.runtime.grpc_server import GrpcServer
from services.runtime.identity import IdentityKeys, load_identity_keys
from services.runtime.jetstream import connect, ensure_streams
from services.runtime.metrics import serve_metrics
from services.runtime.relay import OutboxRelay
from services.runtime.settings import Settings, to_libpq_url
from services.runtime.tls import server_credentials

log = logging.getLogger(__name__)


@dataclass
class ServiceDeps:
    """What a service's API and handlers may use; built once per process."""

    name: str
    settings: Settings
    db: Database
    clock: Clock
    channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)
    identity_keys: IdentityKeys | None = None  # security enabled: calls carry this service's identity

    def channel(self, service: str) -> grpc.aio.Channel:
        """A channel to another service (created on first use, shared by the process). Every call
        carries the correlation id, traceparent and user, and with security enabled the signed
        identity `service:<name>` acting for that user (grpc_client.py); mutual TLS with ERP_TLS_DIR."""
        if service not in self.channels:
            self.channels[service] = service_channel(self.settings, service, caller=self.name, keys=self.identity_keys)
        return self.channels[service]


# A coroutine function (asyncio.create_task takes a coroutine, not any awaitable).
BackgroundJob = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def _no_handlers(deps: ServiceDeps) -> dict[str, Handler]:
    return {}


def _no_jobs(deps: ServiceDeps) -> list[BackgroundJob]:
    return []


@dataclass(frozen=True)
class ServiceDefinition:
    """What a service declares; the runtime runs it.

    `handlers` maps event types (full protobuf names) to idempotent handlers. `background` returns
    long-running jobs (periodic sweeps, read-model refreshers) that run until the stop event is set;
    with several replicas, a job that must run once takes its own advisory lock (see `leader_lock`).
    """

    name: str
    full_service_name: str
    register: Callable[[ServiceDeps, grpc.aio.Server], None]
    handlers: Callable[[ServiceDeps], dict[str, Handler]] = _no_handlers
    background: Callable[[ServiceDeps], list[BackgroundJob]] = _no_jobs


@dataclass
class RunningService:
    deps: ServiceDeps
    server: GrpcServer
    nats: Client
    js: JetStreamContext
    relay: OutboxRelay
    consumer: EventConsumer | None
    tasks: list[asyncio.Task[Any]]
    stop: asyncio.Event

    async def shutdown(self) -> None:
        self.stop.set()
        await self.server.stop()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5)
        with contextlib.suppress(Exception):
            await self.nats.drain()
        for ch in self.deps.channels.values():
            await ch.close()
        await self.deps.db.dispose()


async def start_service(
    definition: ServiceDefinition, settings: Settings, *, clock: Clock | None = None, port: int | None = None
) -> RunningService:
    """Start everything a service process runs; `shutdown()` stops it gracefully."""
    load_event_modules()
    url = settings.service_database_url(definition.name)
    db = Database(url, settings, definition.name)
    keys = load_identity_keys(settings) if settings.security else None
    if not settings.security and settings.environment == "production":
        log.warning("ERP_SECURITY=disabled in production: %s trusts any caller", definition.name)
    deps = ServiceDeps(definition.name, settings, db, clock or SystemClock(), identity_keys=keys)
    nc = await connect(
        settings.require_nats_url(), f"erp-{definition.name}", credentials=settings.nats_credentials(definition.name)
    )
    js = nc.jetstream()
    await ensure_streams(js, settings.subject_root, settings.stream_replicas)
    server = GrpcServer(
        settings.grpc_bind_address(definition.name, port),
        [definition.full_service_name],
        identity_keys=keys,
        credentials=server_credentials(settings.tls_dir, definition.name) if settings.tls_dir else None,
    )
    definition.register(deps, server.server)
    await server.start()
    stop = asyncio.Event()
    relay = OutboxRelay(db, js, to_libpq_url(settings.session_database_url(definition.name)))
    tasks = [asyncio.create_task(relay.run(stop), name=f"{definition.name}-relay")]
    handlers = definition.handlers(deps)
    consumer = None
    if handlers:
        consumer = EventConsumer(
            definition.name,
            db,
            js,
            handlers,
            subject_root=settings.subject_root,
            max_deliveries=settings.max_deliveries,
        )
        tasks.append(asyncio.create_task(consumer.run(stop), name=f"{definition.name}-consumer"))
    for i, job in enumerate(definition.background(deps)):
        tasks.append(asyncio.create_task(job(stop), name=f"{definition.name}-job-{i}"))
    return RunningService(deps, server, nc, js, relay, consumer, tasks, stop)


async def serve_forever(definition: ServiceDefinition, settings: Settings) -> None:
    """Run one service process: the service and its metrics endpoint, until SIGINT/SIGTERM."""
    running = await start_service(definition, settings)
    stop_metrics = serve_metrics(settings.metrics_host, settings.metrics_ports[definition.name])
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    log.info("%s service ready on %s", definition.name, running.server.address)
    await done.wait()
    log.info("%s service stopping", definition.name)
    await running.shutdown()
    if stop_metrics:
        stop_metrics()
