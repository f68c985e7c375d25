"""`python -m gateway`: serve the gateway with uvicorn on ERP_GATEWAY_HOST:ERP_GATEWAY_PORT.

uvicorn handles SIGINT/SIGTERM: it stops accepting, lets in-flight requests finish, then runs
the app's shutdown (closing the gRPC channels).

With `ERP_GATEWAY_WORKERS` > 1, uvicorn's supervisor runs that many processes on the one port
(GraphQL execution is CPU-bound and a process uses one core). Each worker is a whole gateway:
its own channels and circuit breakers, its own NATS subscriptions, its own automatic persisted
queries (a client whose hash a worker does not know gets PERSISTED_QUERY_NOT_FOUND and sends
the document again, as the protocol expects) and its own `/metrics` (a scrape sees the worker
that answered it).
"""

from __future__ import annotations

import gc
import logging

import uvicorn
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.config import GatewayConfig
from services.runtime.logging import configure_logging
from services.runtime.settings import Settings

log = logging.getLogger("gateway")


def frozen(app: Starlette) -> Starlette:
    """Moves everything built so far (modules, the schema and its types, descriptors) out of the
    garbage collector's sight: the full collections that a request's allocations trigger then
    no longer walk a million objects that live as long as the process (they cost a deep read
    a fifth of its CPU on average, and made its slowest requests three times slower)."""
    gc.collect()
    gc.freeze()
    return app


def worker_app() -> Starlette:
    """The app of one worker process (uvicorn's factory): settings and logging from the environment."""
    settings = Settings.from_env()
    configure_logging(settings.log_level, "gateway")
    return frozen(create_app(settings))


def main() -> None:
    settings = Settings.from_env()
    configure_logging(settings.log_level, "gateway")
    workers = GatewayConfig.from_env().workers
    log.info("gateway on http://%s:%s/graphql (%d worker(s))", settings.gateway_host, settings.gateway_port, workers)
    if workers > 1:  # uvicorn's supervisor: `workers` processes on the one socket, each importing the app
        uvicorn.run(
            "gateway.__main__:worker_app",
            factory=True,
            workers=workers,
            host=settings.gateway_host,
            port=settings.gateway_port,
            log_config=None,
            lifespan="on",
            timeout_graceful_shutdown=10,
        )
        return
    config = uvicorn.Config(
        frozen(create_app(settings)),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
