"""Gateway fixtures: the ASGI app over the in-process services, an HTTP client, gRPC stubs.

The employee service is the session's (tests/conftest.py). Payroll, accounting, inventory,
billing, procurement, supply chain and finance are this package's own instances, started on
demand: ports of the kernel's choosing (another folder may run the same service on its settings
port in this session, and a port chosen before binding may be taken by another process
meanwhile), the shared databases, a private NATS subject root (their events reach only each
other, and theirs reach no other folder's instances) and no background jobs (no periodic sweep
races another folder's "nothing written" checks). Package scope: they stop when the gateway tests
are done.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace

import grpc
import httpx
import pytest
from erp.accounting.v1 import accounting_service_pb2_grpc as acc_grpc
from erp.billing.v1 import billing_service_pb2_grpc as bill_grpc
from erp.employee.v1 import employee_service_pb2_grpc as api_grpc
from erp.finance.v1 import finance_service_pb2_grpc as fin_grpc
from erp.inventory.v1 import inventory_service_pb2_grpc as inv_grpc
from erp.payroll.v1 import payroll_service_pb2_grpc as pay_grpc
from erp.procurement.v1 import procurement_service_pb2_grpc as proc_grpc
from erp.supply_chain.v1 import supply_chain_service_pb2_grpc as sc_grpc
from nats.aio.client import Client
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.clients import RPC_COUNTER
from services.runtime.events import dlq_stream_name, stream_name
from services.runtime.jetstream import ensure_streams
from services.runtime.serve import load_definition
from services.runtime.service import BackgroundJob, RunningService, ServiceDeps, start_service
from services.runtime.settings import SERVICES, Settings
from tests.gateway.payroll_data import TAX_YEARS, PaidOrg, create_tax_rates, paid_through_saga
from tests.gateway.support import Gql

OWN = ("payroll", "accounting", "inventory", "billing", "procurement", "supply_chain", "finance")


@pytest.fixture(scope="session")
def gateway_settings(settings: Settings) -> Settings:
    """The session's settings with this package's subject root; the ports of OWN services are
    filled in as each starts (the gateway's channels are created on first use, after that)."""
    return replace(
        settings, subject_root=f"{settings.subject_root}gw", grpc_ports={**settings.grpc_ports, **dict.fromkeys(OWN, 0)}
    )


@pytest.fixture(scope="session")
async def gateway_app(
    settings: Settings, gateway_settings: Settings, employee_service: RunningService
) -> AsyncIterator[Starlette]:
    """The gateway's channels point at the session's employee service and at this package's others."""
    assert employee_service.server.address == gateway_settings.grpc_address("employee")
    app = create_app(gateway_settings)
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


# ---- this package's payroll, accounting, inventory, billing and procurement ------------------


def _no_jobs(deps: ServiceDeps) -> list[BackgroundJob]:
    return []


@pytest.fixture(scope="package")
async def own_streams(gateway_settings: Settings, nats_client: Client) -> AsyncIterator[None]:
    js = nats_client.jetstream()
    await ensure_streams(js, gateway_settings.subject_root)
    yield
    root = gateway_settings.subject_root
    for name in [*(stream_name(root, s) for s in SERVICES), dlq_stream_name(root)]:
        with contextlib.suppress(Exception):
            await js.delete_stream(name)


async def _start(name: str, own: Settings) -> RunningService:
    definition = replace(load_definition(name), background=_no_jobs)
    running = await start_service(definition, own, port=0)
    own.grpc_ports[name] = running.server.port
    return running


@contextlib.asynccontextmanager
async def _channel(own: Settings, name: str) -> AsyncIterator[grpc.aio.Channel]:
    channel = grpc.aio.insecure_channel(own.grpc_address(name).replace("0.0.0.0", "127.0.0.1"))
    try:
        yield channel
    finally:
        await channel.close()


@pytest.fixture(scope="package")
async def accounting_service(gateway_settings: Settings, own_streams: None) -> AsyncIterator[RunningService]:
    running = await _start("accounting", gateway_settings)
    yield running
    await running.shutdown()


@pytest.fixture(scope="package")
async def payroll_service(
    gateway_settings: Settings, own_streams: None, employee_service: RunningService
) -> AsyncIterator[RunningService]:
    """Payroll calls the session's employee service (same port in gateway_settings)."""
    running = await _start("payroll", gateway_settings)
    yield running
    await running.shutdown()


@pytest.fixture(scope="package")
async def inventory_service(gateway_settings: Settings, own_streams: None) -> AsyncIterator[RunningService]:
    running = await _start("inventory", gateway_settings)
    yield running
    await running.shutdown()


@pytest.fixture(scope="package")
async def billing_service(gateway_settings: Settings, own_streams: None) -> AsyncIterator[RunningService]:
    running = await _start("billing", gateway_settings)
    yield running
    await running.shutdown()


@pytest.fixture(scope="package")
async def procurement_service(gateway_settings: Settings, own_streams: None) -> AsyncIterator[RunningService]:
    running = await _start("procurement", gateway_settings)
    yield running
    await running.shutdown()


@pytest.fixture(scope="package")
async def accounting(
    gateway_settings: Settings, accounting_service: RunningService
) -> AsyncIterator[acc_grpc.AccountingServiceStub]:
    async with _channel(gateway_settings, "accounting") as channel:
        yield acc_grpc.AccountingServiceStub(channel)


@pytest.fixture(scope="package")
async def payroll(
    gateway_settings: Settings, payroll_service: RunningService, accounting_service: RunningService
) -> AsyncIterator[pay_grpc.PayrollServiceStub]:
    """Payroll with accounting running (the saga), and tax rates for TAX_YEARS."""
    async with _channel(gateway_settings, "payroll") as channel:
        stub = pay_grpc.PayrollServiceStub(channel)
        await create_tax_rates(stub, TAX_YEARS)
        yield stub


@pytest.fixture(scope="package")
async def inventory(
    gateway_settings: Settings, inventory_service: RunningService
) -> AsyncIterator[inv_grpc.InventoryServiceStub]:
    async with _channel(gateway_settings, "inventory") as channel:
        yield inv_grpc.InventoryServiceStub(channel)


@pytest.fixture(scope="package")
async def billing(
    gateway_settings: Settings, billing_service: RunningService, accounting_service: RunningService
) -> AsyncIterator[bill_grpc.BillingServiceStub]:
    """Billing with accounting running (issued invoices are posted and linked back)."""
    async with _channel(gateway_settings, "billing") as channel:
        yield bill_grpc.BillingServiceStub(channel)


@pytest.fixture(scope="package")
async def procurement(
    gateway_settings: Settings,
    procurement_service: RunningService,
    inventory_service: RunningService,
    accounting_service: RunningService,
) -> AsyncIterator[proc_grpc.ProcurementServiceStub]:
    """Procurement with inventory and accounting running (receipts reach both by events)."""
    async with _channel(gateway_settings, "procurement") as channel:
        yield proc_grpc.ProcurementServiceStub(channel)


@pytest.fixture(scope="package")
async def supply_chain_service(gateway_settings: Settings, own_streams: None) -> AsyncIterator[RunningService]:
    running = await _start("supply_chain", gateway_settings)
    yield running
    await running.shutdown()


@pytest.fixture(scope="package")
async def finance_service(
    gateway_settings: Settings, own_streams: None, employee_service: RunningService
) -> AsyncIterator[RunningService]:
    """Finance reads departments from the session's employee service and follows this package's ledger."""
    running = await _start("finance", gateway_settings)
    yield running
    await running.shutdown()


@pytest.fixture(scope="package")
async def supply_chain(
    gateway_settings: Settings, supply_chain_service: RunningService, inventory_service: RunningService
) -> AsyncIterator[sc_grpc.SupplyChainServiceStub]:
    async with _channel(gateway_settings, "supply_chain") as channel:
        yield sc_grpc.SupplyChainServiceStub(channel)


@pytest.fixture(scope="package")
async def finance(
    gateway_settings: Settings, finance_service: RunningService, accounting_service: RunningService
) -> AsyncIterator[fin_grpc.FinanceServiceStub]:
    """Finance with accounting running (postings charge budgets)."""
    async with _channel(gateway_settings, "finance") as channel:
        yield fin_grpc.FinanceServiceStub(channel)


@pytest.fixture(scope="package")
async def paid(employee_channel: grpc.aio.Channel, payroll: pay_grpc.PayrollServiceStub) -> PaidOrg:
    """60 employees (plus their manager) paid for January through the real saga: each has one
    PROCESSED payroll record with its journal entry."""
    return await paid_through_saga(api_grpc.EmployeeServiceStub(employee_channel), payroll, 60, month=1)


@pytest.fixture
def employee_root_settings(settings: Settings, gateway_settings: Settings) -> Settings:
    """The gateway's settings listening where the session's employee service publishes."""
    return replace(gateway_settings, subject_root=settings.subject_root)
