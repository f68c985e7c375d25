"""Finance fixtures: the service in-process on subjects of its own (so it reads only the
accounting events these tests publish), with the session's employee service for department
checks and no accounting service (its port is a free one: report RPCs are UNAVAILABLE here;
the end-to-end module runs a real accounting). The budget-closing job is run by the tests
themselves on a fixed clock, so the service runs none.

Package-scoped: the instance stops when this package is done and its streams are deleted."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import grpc
import pytest
from erp.employee.v1 import employee_service_pb2_grpc as emp_grpc
from nats.aio.client import Client

from services.ops.embedded import free_port
from services.runtime.events import dlq_stream_name, stream_name
from services.runtime.serve import load_definition
from services.runtime.service import RunningService, ServiceDeps, start_service
from services.runtime.settings import SERVICES, Settings, to_libpq_url
from tests.finance.helpers import Stub


def _no_jobs(deps: ServiceDeps) -> list[object]:
    return []


@pytest.fixture(scope="package")
def finance_settings(settings: Settings) -> Settings:
    ports = dict(settings.grpc_ports)
    ports.update(accounting=free_port(), finance=free_port())
    return replace(settings, subject_root=f"{settings.subject_root}fin", grpc_ports=ports)


@pytest.fixture(scope="package")
async def finance_service(
    finance_settings: Settings, nats_client: Client, employee_service: RunningService
) -> AsyncIterator[RunningService]:
    definition = replace(load_definition("finance"), background=_no_jobs)
    running = await start_service(definition, finance_settings)
    yield running
    await running.shutdown()
    js = nats_client.jetstream()
    root = finance_settings.subject_root
    for name in [*(stream_name(root, s) for s in SERVICES), dlq_stream_name(root)]:
        with contextlib.suppress(Exception):
            await js.delete_stream(name)


@pytest.fixture(scope="package")
async def finance_channel(finance_service: RunningService) -> AsyncIterator[grpc.aio.Channel]:
    channel = grpc.aio.insecure_channel(finance_service.server.address.replace("0.0.0.0", "127.0.0.1"))
    yield channel
    await channel.close()


@pytest.fixture(scope="package")
def stub(finance_channel: grpc.aio.Channel) -> Stub:
    return Stub(finance_channel)


@pytest.fixture(scope="package")
def employees(employee_channel: grpc.aio.Channel) -> emp_grpc.EmployeeServiceStub:
    return emp_grpc.EmployeeServiceStub(employee_channel)


@pytest.fixture(scope="package")
async def db(finance_settings: Settings, finance_channel: grpc.aio.Channel) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to finance_db (migrated, service running) for SQL assertions."""
    conn = await asyncpg.connect(to_libpq_url(finance_settings.service_database_url("finance")))
    yield conn
    await conn.close()
