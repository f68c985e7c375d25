"""`python -m services.runtime.serve <service>`: run one service process until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import importlib

from services.runtime import tracing
from services.runtime.logging import configure_logging
from services.runtime.service import ServiceDefinition, serve_forever
from services.runtime.settings import SERVICES, Settings


def load_definition(service: str) -> ServiceDefinition:
    module = importlib.import_module(f"services.{service}.service")
    definition: ServiceDefinition = module.DEFINITION
    return definition


def main() -> None:
    parser = argparse.ArgumentParser(description="Run one ERP service (gRPC server, outbox relay, consumers).")
    parser.add_argument("service", choices=SERVICES)
    ns = parser.parse_args()
    settings = Settings.from_env()
    configure_logging(settings.log_level, ns.service)
    tracing.configure(ns.service)
    asyncio.run(serve_forever(load_definition(ns.service), settings))


if __name__ == "__main__":
    main()
