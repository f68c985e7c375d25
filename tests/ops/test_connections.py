"""Connection management: an exhausted pool answers UNAVAILABLE quickly instead of hanging; the
pool, SSL and PgBouncer settings come from the environment."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import grpc
import pytest
from erp.employee.v1 import employee_service_pb2 as api
from erp.employee.v1 import employee_service_pb2_grpc as api_grpc
from nats.aio.client import Client
from prometheus_client import REGISTRY
from sqlalchemy import text

from services.runtime.db import connect_args
from services.runtime.serve import load_definition
from services.runtime.service import start_service
from services.runtime.settings import Settings
from tests.ops.helpers import private_system


async def test_an_exhausted_pool_is_unavailable_not_a_hang(settings: Settings, nats_client: Client) -> None:
    async with private_system(settings, "pool", ["employee"]) as own:
        tight = replace(own, pool_size=1, pool_timeout_s=0.3)
        running = await start_service(load_definition("employee"), tight)
        channel = grpc.aio.insecure_channel(tight.grpc_address("employee"))
        try:
            stub = api_grpc.EmployeeServiceStub(channel)
            await stub.ListEmployees(api.ListEmployeesRequest(page_size=1))  # the pool works

            async def hold_the_only_connection() -> None:
                async with running.deps.db.unit_of_work() as uow:
                    await uow.session.execute(text("SELECT pg_sleep(1.5)"))

            holder = asyncio.create_task(hold_the_only_connection())
            await asyncio.sleep(0.2)
            in_use = REGISTRY.get_sample_value("erp_db_pool_in_use", {"service": "employee"})
            assert in_use == 1
            started = time.monotonic()
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.ListEmployees(api.ListEmployeesRequest(page_size=1), timeout=5)
            assert time.monotonic() - started < 1.2  # the pool timeout (0.3 s), not the slow query
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "database pool is exhausted" in (info.value.details() or "")
            await holder
            await stub.ListEmployees(api.ListEmployeesRequest(page_size=1))  # and it recovers
            unavailable = REGISTRY.get_sample_value(
                "erp_grpc_requests_total",
                {
                    "service": "employee",
                    "method": "erp.employee.v1.EmployeeService/ListEmployees",
                    "code": "UNAVAILABLE",
                },
            )
            assert unavailable is not None and unavailable >= 1
        finally:
            await channel.close()
            await running.shutdown()


def test_pool_ssl_and_pgbouncer_settings_from_the_environment() -> None:
    env = {
        "ERP_DB_POOL_SIZE": "7",
        "ERP_DB_POOL_TIMEOUT_MS": "1500",
        "ERP_DB_STATEMENT_TIMEOUT_MS": "2500",
        "ERP_DB_SSLMODE": "verify-full",
        "ERP_DB_STATEMENT_CACHE_SIZE": "0",
        "ERP_DB_SESSION_URL": "postgresql://erp@postgres:5432/postgres",
        "ERP_DATABASE_URL": "postgresql://erp@pgbouncer:6432/postgres",
    }
    s = Settings.from_env(env)
    assert (s.pool_size, s.pool_timeout_s, s.statement_timeout_ms) == (7, 1.5, 2500)
    args = connect_args(s, "erp-employee")
    assert args["ssl"] == "verify-full"
    assert args["server_settings"] == {"statement_timeout": "2500", "application_name": "erp-employee"}
    assert args["statement_cache_size"] == args["prepared_statement_cache_size"] == 0
    assert args["prepared_statement_name_func"]() != args["prepared_statement_name_func"]()  # unique names
    assert s.service_database_url("employee") == "postgresql+asyncpg://erp@pgbouncer:6432/employee_db"
    assert s.session_database_url("employee") == "postgresql+asyncpg://erp@postgres:5432/employee_db"
    defaults = connect_args(Settings.from_env({}), "x")
    assert "ssl" not in defaults and "statement_cache_size" not in defaults
    assert Settings.from_env({}).pool_size == 20 and Settings.from_env({}).statement_timeout_ms == 5000
    with pytest.raises(ValueError, match="ERP_DB_SSLMODE"):
        Settings.from_env({"ERP_DB_SSLMODE": "sometimes"})
