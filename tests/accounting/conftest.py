"""The accounting service in-process (real PostgreSQL and NATS), its channel, a stub and a
direct connection to accounting_db for SQL assertions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import grpc
import pytest
from nats.aio.client import Client

from services.runtime.serve import load_definition
from services.runtime.service import RunningService, start_service
from services.runtime.settings import Settings, to_libpq_url
from tests.accounting.helpers import Stub


@pytest.fixture(scope="package")
async def accounting_service(settings: Settings, nats_client: Client) -> AsyncIterator[RunningService]:
    running = await start_service(load_definition("accounting"), settings)
    yield running
    await running.shutdown()


@pytest.fixture(scope="package")
async def accounting_channel(accounting_service: RunningService) -> AsyncIterator[grpc.aio.Channel]:
    channel = grpc.aio.insecure_channel(accounting_service.server.address.replace("0.0.0.0", "127.0.0.1"))
    yield channel
    await channel.close()


@pytest.fixture(scope="package")
def stub(accounting_channel: grpc.aio.Channel) -> Stub:
    return Stub(accounting_channel)


@pytest.fixture(scope="package")
async def db(settings: Settings, accounting_channel: grpc.aio.Channel) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to accounting_db (migrated, service running)."""
    conn = await asyncpg.connect(to_libpq_url(settings.service_database_url("accounting")))
    yield conn
    await conn.close()
