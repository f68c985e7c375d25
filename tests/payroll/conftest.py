"""Payroll fixtures: the service in-process (with the employee service it calls), a direct
connection to payroll_db for SQL assertions, and the tax rates most tests rely on.

Package-scoped: the payroll instances stop when this package's tests are done, so their durable
consumers never compete with another package's services for the same messages."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import grpc
import pytest
from erp.employee.v1 import employee_service_pb2_grpc as emp_grpc
from erp.payroll.v1 import payroll_service_pb2_grpc as api_grpc
from nats.aio.client import Client

from services.ops.embedded import free_port
from services.runtime.events import dlq_stream_name, stream_name
from services.runtime.serve import load_definition
from services.runtime.service import RunningService, start_service
from services.runtime.settings import SERVICES, Settings, to_libpq_url
from tests.payroll.helpers import STANDARD_RATE_YEARS, SagaPayroll, create_tax_rate, day


@pytest.fixture(scope="package")
async def payroll_service(
    settings: Settings, nats_client: Client, employee_service: RunningService
) -> AsyncIterator[RunningService]:
    running = await start_service(load_definition("payroll"), settings)
    yield running
    await running.shutdown()


@pytest.fixture(scope="package")
async def payroll_channel(payroll_service: RunningService) -> AsyncIterator[grpc.aio.Channel]:
    channel = grpc.aio.insecure_channel(payroll_service.server.address.replace("0.0.0.0", "127.0.0.1"))
    yield channel
    await channel.close()


@pytest.fixture(scope="package")
def stub(payroll_channel: grpc.aio.Channel) -> api_grpc.PayrollServiceStub:
    return api_grpc.PayrollServiceStub(payroll_channel)


@pytest.fixture(scope="package")
def employees(employee_channel: grpc.aio.Channel) -> emp_grpc.EmployeeServiceStub:
    return emp_grpc.EmployeeServiceStub(employee_channel)


@pytest.fixture(scope="package")
async def db(settings: Settings, payroll_channel: grpc.aio.Channel) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to payroll_db (migrated, service running)."""
    conn = await asyncpg.connect(to_libpq_url(settings.service_database_url("payroll")))
    yield conn
    await conn.close()


@pytest.fixture(scope="package")
async def standard_rates(stub: api_grpc.PayrollServiceStub) -> None:
    """Rates for every calendar year the run tests use (federal 10%, state 5%, SS 6.2%, Medicare 1.45%)."""
    for year in STANDARD_RATE_YEARS:
        await create_tax_rate(stub, year, day(year, 1, 1), day(year, 12, 31))


@pytest.fixture(scope="package")
async def saga(settings: Settings, nats_client: Client, employee_service: RunningService) -> AsyncIterator[SagaPayroll]:
    private = replace(settings, subject_root=f"{settings.subject_root}payrollsaga")
    running = await start_service(load_definition("payroll"), private, port=free_port())
    channel = grpc.aio.insecure_channel(running.server.address)
    yield SagaPayroll(running, private, api_grpc.PayrollServiceStub(channel))
    await channel.close()
    await running.shutdown()
    js = nats_client.jetstream()
    for name in [*(stream_name(private.subject_root, s) for s in SERVICES), dlq_stream_name(private.subject_root)]:
        with contextlib.suppress(Exception):
            await js.delete_stream(name)
