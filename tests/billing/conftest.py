"""Billing service fixtures: one in-process service for the session, on a fixed clock.

The clock stands at TODAY (helpers.FIXED_NOW); tests that need time to pass move it and put it
back. The overdue job runs every 0.2 s and the read model refreshes at most every 0.2 s, so tests
that wait for them stay fast.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import grpc
import pytest
from nats.aio.client import Client

from services.billing.config import BillingConfig
from services.billing.service import background_jobs
from services.runtime.clock import FixedClock
from services.runtime.serve import load_definition
from services.runtime.service import RunningService, start_service
from services.runtime.settings import Settings, to_libpq_url
from tests.billing.helpers import FIXED_NOW, Stub

TEST_CONFIG = BillingConfig(overdue_interval_s=0.2, summary_min_interval_s=0.2)


@pytest.fixture(scope="session")
def billing_clock() -> FixedClock:
    return FixedClock(FIXED_NOW)


@pytest.fixture(scope="session")
async def billing_service(
    settings: Settings, nats_client: Client, billing_clock: FixedClock
) -> AsyncIterator[RunningService]:
    definition = replace(load_definition("billing"), background=background_jobs(TEST_CONFIG))
    running = await start_service(definition, settings, clock=billing_clock)
    yield running
    await running.shutdown()


@pytest.fixture(scope="session")
async def billing_channel(billing_service: RunningService) -> AsyncIterator[grpc.aio.Channel]:
    channel = grpc.aio.insecure_channel(billing_service.server.address.replace("0.0.0.0", "127.0.0.1"))
    yield channel
    await channel.close()


@pytest.fixture(scope="session")
def stub(billing_channel: grpc.aio.Channel) -> Stub:
    return Stub(billing_channel)


@pytest.fixture(scope="session")
async def db(settings: Settings, billing_channel: grpc.aio.Channel) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to billing_db (migrated, service running) for SQL assertions."""
    conn = await asyncpg.connect(to_libpq_url(settings.service_database_url("billing")))
    yield conn
    await conn.close()
