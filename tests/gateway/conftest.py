"""Gateway fixtures: the ASGI app over the in-process employee service, and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from erp.employee.v1 import employee_service_pb2_grpc as api_grpc
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.clients import RPC_COUNTER
from services.runtime.service import RunningService
from services.runtime.settings import Settings
from tests.gateway.support import Gql


@pytest.fixture(scope="session")
async def gateway_app(settings: Settings, employee_service: RunningService) -> AsyncIterator[Starlette]:
    """The gateway's channels point at `settings.grpc_address("employee")`, where the service listens."""
    assert employee_service.server.address == settings.grpc_address("employee")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def gateway_client(gateway_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=gateway_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


@pytest.fixture
def gql(gateway_client: httpx.AsyncClient) -> Gql:
    RPC_COUNTER.reset()
    return Gql(gateway_client)


@pytest.fixture
def stub(employee_channel: grpc.aio.Channel) -> api_grpc.EmployeeServiceStub:
    """Direct gRPC access for setting up data (not counted: this channel has no gateway interceptor)."""
    return api_grpc.EmployeeServiceStub(employee_channel)
