"""`python -m gateway`: serve the gateway with uvicorn on ERP_GATEWAY_HOST:ERP_GATEWAY_PORT.

uvicorn handles SIGINT/SIGTERM: it stops accepting, lets in-flight requests finish, then runs
the app's shutdown (closing the gRPC channels).
"""

from __future__ import annotations

import logging

import uvicorn

from gateway.app import create_app
from services.runtime.logging import configure_logging
from services.runtime.settings import Settings

log = logging.getLogger("gateway")


def main() -> None:
    settings = Settings.from_env()
    configure_logging(settings.log_level, "gateway")
    config = uvicorn.Config(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    log.info("gateway on http://%s:%s/graphql", settings.gateway_host, settings.gateway_port)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
