"""The supply chain service in-process (real PostgreSQL and NATS) with a clock tests can pin,
its channel, a stub and a direct connection to supply_chain_db for SQL assertions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import grpc
import pytest
from nats.aio.client import Client

from services.runtime.serve import load_definition
from services.runtime.service import RunningService, start_service
from services.runtime.settings import Settings, to_libpq_url
from tests.supply_chain.helpers import PinnableClock, Stub


@pytest.fixture(scope="session")
def supply_chain_clock() -> PinnableClock:
    return PinnableClock()


@pytest.fixture
def clock(supply_chain_clock: PinnableClock) -> Iterator[PinnableClock]:
    """The service's clock, back to real time after the test."""
    yield supply_chain_clock
    supply_chain_clock.reset()


@pytest.fixture(scope="session")
async def supply_chain_service(
    settings: Settings, nats_client: Client, supply_chain_clock: PinnableClock
) -> AsyncIterator[RunningService]:
    running = await start_service(load_definition("supply_chain"), settings, clock=supply_chain_clock)
    yield running
    await running.shutdown()


@pytest.fixture(scope="session")
async def supply_chain_channel(supply_chain_service: RunningService) -> AsyncIterator[grpc.aio.Channel]:
    channel = grpc.aio.insecure_channel(supply_chain_service.server.address.replace("0.0.0.0", "127.0.0.1"))
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def stub(supply_chain_channel: grpc.aio.Channel) -> Stub:
    return Stub(supply_chain_channel)


@pytest.fixture(scope="session")
async def db(settings: Settings, supply_chain_channel: grpc.aio.Channel) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to supply_chain_db (migrated, service running)."""
    conn = await asyncpg.connect(to_libpq_url(settings.service_database_url("supply_chain")))
    yield conn
    await conn.close()
