"""Fixtures for the security tests: the session's employee service, its database and its key ring
(no ERP_PII_KEYS in tests: the development key in the session's data directory)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import asyncpg
import grpc
import pytest

from services.runtime.crypto import KeyRing, load_keyring
from services.runtime.settings import Settings, to_libpq_url
from tests.employee.helpers import Stub

if TYPE_CHECKING:  # the generated stubs type grpc.aio calls here (.pyi only)
    from erp.employee.v1.employee_service_pb2_grpc import EmployeeServiceAsyncStub as AsyncStub


@pytest.fixture(scope="session")
def stub(employee_channel: grpc.aio.Channel) -> AsyncStub:
    return Stub(employee_channel)


@pytest.fixture(scope="session")
async def db(settings: Settings, employee_channel: grpc.aio.Channel) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to employee_db (migrated, service running) for raw SQL."""
    conn = await asyncpg.connect(to_libpq_url(settings.service_database_url("employee")))
    yield conn
    await conn.close()


@pytest.fixture(scope="session")
def keyring(settings: Settings, employee_channel: grpc.aio.Channel) -> KeyRing:
    """The key ring the running service uses (same settings, same development key file)."""
    return load_keyring(settings)
