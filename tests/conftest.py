"""Shared fixtures: one PostgreSQL and one NATS for the whole session, migrated once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import grpc
import pytest
from nats.aio.client import Client

from services.runtime.jetstream import connect, ensure_streams
from services.runtime.migrations import ensure_databases, upgrade_all
from services.runtime.serve import load_definition
from services.runtime.service import RunningService, start_service
from services.runtime.settings import Settings
from tests.infra import Infra, infrastructure


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    with infrastructure() as i:
        asyncio.run(ensure_databases(i.settings))
        upgrade_all(i.settings)
        yield i


@pytest.fixture(scope="session")
def settings(infra: Infra) -> Settings:
    return infra.settings


@pytest.fixture(scope="session")
async def nats_client(settings: Settings) -> AsyncIterator[Client]:
    nc = await connect(settings.require_nats_url(), "erp-tests")
    await ensure_streams(nc.jetstream(), settings.subject_root)
    yield nc
    await nc.close()


@pytest.fixture(scope="session")
async def employee_service(settings: Settings, nats_client: Client) -> AsyncIterator[RunningService]:
    running = await start_service(load_definition("employee"), settings)
    yield running
    await running.shutdown()


@pytest.fixture(scope="session")
async def employee_channel(settings: Settings, employee_service: RunningService) -> AsyncIterator[grpc.aio.Channel]:
    channel = grpc.aio.insecure_channel(employee_service.server.address.replace("0.0.0.0", "127.0.0.1"))
    yield channel
    await channel.close()
