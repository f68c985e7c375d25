from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import grpc
import pytest

from services.runtime.settings import Settings, to_libpq_url
from tests.employee.helpers import Stub


@pytest.fixture(scope="session")
def stub(employee_channel: grpc.aio.Channel) -> Stub:
    return Stub(employee_channel)


@pytest.fixture(scope="session")
async def db(settings: Settings, employee_channel: grpc.aio.Channel) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to employee_db (migrated, service running) for SQL assertions."""
    conn = await asyncpg.connect(to_libpq_url(settings.service_database_url("employee")))
    yield conn
    await conn.close()
