"""Procurement fixtures: the service in-process (default approval threshold), a channel and stub,
and a direct connection to procurement_db for SQL assertions."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import grpc
import pytest
from erp.procurement.v1 import procurement_service_pb2_grpc as api_grpc
from nats.aio.client import Client

from services.procurement.config import APPROVAL_THRESHOLD_ENV
from services.runtime.serve import load_definition
from services.runtime.service import RunningService, start_service
from services.runtime.settings import Settings, to_libpq_url


@pytest.fixture(scope="session")
async def procurement_service(settings: Settings, nats_client: Client) -> AsyncIterator[RunningService]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(APPROVAL_THRESHOLD_ENV, raising=False)  # the tests assume the default (10000.00)
        running = await start_service(load_definition("procurement"), settings)
    yield running
    await running.shutdown()


@pytest.fixture(scope="session")
async def procurement_channel(procurement_service: RunningService) -> AsyncIterator[grpc.aio.Channel]:
    channel = grpc.aio.insecure_channel(procurement_service.server.address.replace("0.0.0.0", "127.0.0.1"))
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def stub(procurement_channel: grpc.aio.Channel) -> api_grpc.ProcurementServiceStub:
    return api_grpc.ProcurementServiceStub(procurement_channel)


@pytest.fixture(scope="session")
async def db(settings: Settings, procurement_channel: grpc.aio.Channel) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to procurement_db (migrated, service running)."""
    conn = await asyncpg.connect(to_libpq_url(settings.service_database_url("procurement")))
    yield conn
    await conn.close()
