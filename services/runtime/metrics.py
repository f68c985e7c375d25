"""Prometheus metrics of a service process (and of the gateway), in the default registry.

Every series carries the `service` label, so several services in one process (the tests) and
several replicas behind one Prometheus stay apart. With replicas, the outbox gauges are reported
by every replica (they read the same table): aggregate them with `max`, not `sum`.

Each service process serves them on `ERP_<SERVICE>_METRICS_PORT` (9100 + its index, see
settings.py); the gateway on `/metrics` of its own port.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    start_http_server,
)

log = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

GRPC_REQUESTS = Counter(
    "erp_grpc_requests", "gRPC calls handled, by method and status code", ["service", "method", "code"]
)
GRPC_LATENCY = Histogram(
    "erp_grpc_request_duration_seconds", "gRPC call latency", ["service", "method"], buckets=_LATENCY_BUCKETS
)
GRAPHQL_REQUESTS = Counter(
    "erp_graphql_requests", "GraphQL HTTP requests, by HTTP method and status", ["method", "status"]
)
GRAPHQL_LATENCY = Histogram("erp_graphql_request_duration_seconds", "GraphQL request latency", buckets=_LATENCY_BUCKETS)
OUTBOX_BACKLOG = Gauge("erp_outbox_backlog", "Outbox rows not yet published", ["service"])
OUTBOX_OLDEST = Gauge("erp_outbox_oldest_unsent_seconds", "Age of the oldest unpublished outbox row", ["service"])
OUTBOX_PUBLISHED = Counter("erp_outbox_published", "Outbox rows this process published", ["service"])
CONSUMER_EVENTS = Counter(
    "erp_consumer_events",
    "Events handled, by outcome (applied, duplicate, failed, dead_lettered)",
    ["service", "outcome"],
)
CONSUMER_PENDING = Gauge("erp_consumer_pending", "Messages not yet delivered to the consumer", ["service", "stream"])
CONSUMER_ACK_PENDING = Gauge("erp_consumer_ack_pending", "Messages delivered and not yet acked", ["service", "stream"])
CONSUMER_REDELIVERED = Gauge("erp_consumer_redelivered", "Messages delivered more than once", ["service", "stream"])
DEAD_LETTERS = Gauge("erp_dead_letters", "Messages in the dead-letter stream for this consumer", ["service"])
POOL_IN_USE = Gauge("erp_db_pool_in_use", "Database connections checked out of the pool", ["service"])
POOL_SIZE = Gauge("erp_db_pool_size", "Configured database pool size", ["service"])


def track_pool(service: str, size: int, checked_out: Callable[[], int]) -> None:
    POOL_SIZE.labels(service).set(size)
    POOL_IN_USE.labels(service).set_function(checked_out)


def serve_metrics(host: str, port: int) -> Callable[[], None] | None:
    """Serve /metrics over HTTP in a thread; returns a stop function (None when the port is taken)."""
    try:
        server, thread = start_http_server(port, addr=host)
    except OSError as exc:  # another process has the port: run without an endpoint rather than not at all
        log.warning("metrics endpoint %s:%d not started: %s", host, port, exc)
        return None
    log.info("metrics on http://%s:%d/metrics", host, port)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        if isinstance(thread, threading.Thread):
            thread.join(2)

    return stop


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class MeteredGraphQL:
    """Wrap the GraphQL ASGI endpoint: count HTTP requests by method and status, time them.

    A class, not a closure: Starlette treats a plain function as a request/response endpoint."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def sending(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, sending)
        finally:
            GRAPHQL_LATENCY.observe(time.perf_counter() - start)
            GRAPHQL_REQUESTS.labels(scope.get("method", ""), str(status["code"])).inc()


def exposition() -> tuple[bytes, str]:
    """The text exposition of the default registry and its content type (for the gateway's /metrics)."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
