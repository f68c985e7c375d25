"""The inventory service in-process (real PostgreSQL and NATS) with a clock tests can move,
its channel, a stub and a direct connection to inventory_db for SQL assertions.

The session's service runs without its background jobs, so a periodic sweep never races a
"nothing written" check; tests/inventory/test_jobs.py runs the jobs explicitly."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import asyncpg
import grpc
import pytest
from nats.aio.client import Client

from services.runtime.serve import load_definition
from services.runtime.service import BackgroundJob, RunningService, ServiceDeps, start_service
from services.runtime.settings import Settings, to_libpq_url
from tests.inventory.helpers import Stub, TravelClock


def _no_jobs(deps: ServiceDeps) -> list[BackgroundJob]:
    return []


@pytest.fixture(scope="session")
def inventory_clock() -> TravelClock:
    return TravelClock()


@pytest.fixture
def clock(inventory_clock: TravelClock) -> Iterator[TravelClock]:
    """The service's clock, back to real time after the test."""
    yield inventory_clock
    inventory_clock.reset()


@pytest.fixture(scope="session")
async def inventory_service(
    settings: Settings, nats_client: Client, inventory_clock: TravelClock
) -> AsyncIterator[RunningService]:
    definition = replace(load_definition("inventory"), background=_no_jobs)
    running = await start_service(definition, settings, clock=inventory_clock)
    yield running
    await running.shutdown()


@pytest.fixture(scope="session")
async def inventory_channel(inventory_service: RunningService) -> AsyncIterator[grpc.aio.Channel]:
    channel = grpc.aio.insecure_channel(inventory_service.server.address.replace("0.0.0.0", "127.0.0.1"))
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def stub(inventory_channel: grpc.aio.Channel) -> Stub:
    return Stub(inventory_channel)


@pytest.fixture(scope="session")
async def db(settings: Settings, inventory_channel: grpc.aio.Channel) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to inventory_db (migrated, service running)."""
    conn = await asyncpg.connect(to_libpq_url(settings.service_database_url("inventory")))
    yield conn
    await conn.close()
