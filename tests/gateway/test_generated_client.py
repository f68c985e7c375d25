"""The generated Python client (`make client`: clients/python/erp_client) against the gateway served
over real HTTP and WebSocket, and the trusted-documents manifest generated from the same
operations."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from erp.employee.v1 import employee_service_pb2_grpc as api_grpc
from graphql import build_schema

from gateway.app import create_app
from gateway.call_policy import RPC_COUNTER
from gateway.config import GatewayConfig
from gateway.documents import sha256
from services.runtime.service import RunningService
from services.runtime.settings import Settings
from tests.gateway.live import hub_of, serving, wait_for
from tests.gateway.support import new_department, tag
from tools.trusted_documents import MANIFEST, manifest, render

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients" / "python"))

from erp_client import (  # noqa: E402
    CreateDepartmentInput,
    CreateEmployeeInput,
    EmployeeChange,
    EmployeeFilter,
    ErpClient,
    GraphQLClientError,
    UpdateEmployeeInput,
    api,
    canonical_document,
)


def test_the_manifest_is_current_and_covers_every_generated_operation() -> None:
    assert MANIFEST.read_text() == render(manifest()), "clients/trusted-documents.json is stale: run `make client`"
    trusted = json.loads(MANIFEST.read_text())
    operations = [v for v in vars(api).values() if isinstance(v, type) and hasattr(v, "Arguments")]
    assert len(operations) == len(trusted) == 9
    for operation in operations:  # what the client sends is exactly what the manifest trusts
        assert sha256(canonical_document(operation.Meta.document)) in trusted


@contextlib.asynccontextmanager
async def erp(settings: Settings, config: GatewayConfig | None = None) -> AsyncIterator[tuple[ErpClient, Any]]:
    app = create_app(settings, config or GatewayConfig())
    async with serving(app) as base_url, ErpClient(f"{base_url}/graphql") as client:
        yield client, app


async def test_queries_mutations_and_a_subscription_through_the_generated_client(
    settings: Settings, gateway_settings: Settings, payroll_service: RunningService
) -> None:
    live_settings = replace(gateway_settings, subject_root=settings.subject_root)  # the employee service's events
    async with erp(live_settings) as (client, app):
        department = await client.acreate_department(CreateDepartmentInput(name=f"Client {tag()}", code=f"C{tag()}"))
        assert department is not None
        changes = client.aemployee_changed(department_id=department.id)
        first_change = asyncio.ensure_future(anext(changes))
        hub = hub_of(app)
        subject = hub.subject("employee.EmployeeCreated")
        await wait_for(lambda: hub.subscriber_count(subject) == 1, what="the client's subscription")

        hired = await client.acreate_employee(
            CreateEmployeeInput(
                first_name="Gen",
                last_name="Erated",
                email=f"gen-{tag()}@example.com",
                job_title="Typist",
                salary=Decimal("41000.50"),
                hire_date="2024-02-01",  # type: ignore[arg-type]
                department_id=department.id,
            )
        )
        change = await asyncio.wait_for(first_change, 15)
        await changes.aclose()

        assert hired is not None and hired.salary == Decimal("41000.50")
        assert hired.department is not None and hired.department.name == department.name
        assert change.change is EmployeeChange.CREATED
        assert change.employee is not None and change.employee.last_name == "Erated"

        updated = await client.aupdate_employee(
            UpdateEmployeeInput(id=hired.id, version=hired.version, job_title="Lead")
        )
        assert updated is not None and (updated.job_title, updated.last_name) == ("Lead", "Erated")  # nothing cleared
        page = await client.aemployees(filter=EmployeeFilter(query="Erated", department_ids=(department.id,)), first=5)
        assert [e.node.id for e in page.edges] == [hired.id]
        assert page.edges[0].node.department is not None
        one = await client.aemployee_with_payroll(hired.id)
        assert one is not None and one.payroll_records is not None and one.payroll_records.total_count == 0

        with pytest.raises(GraphQLClientError) as missing:
            await client.aemployee_with_payroll("00000000-0000-0000-0000-000000000000")
        assert missing.value.codes == ["NOT_FOUND"]


async def test_the_generated_client_runs_against_a_trusted_documents_gateway(
    gateway_settings: Settings, stub: api_grpc.EmployeeServiceStub
) -> None:
    await new_department(stub, f"Trusted {tag()}")
    async with erp(gateway_settings, GatewayConfig(trusted_documents=(MANIFEST,))) as (client, _app):
        RPC_COUNTER.reset()
        page = await client.adepartments(first=2)
        assert page.total_count >= 1
        assert RPC_COUNTER.by_name() == {"ListDepartments": 1}  # the hash alone: no registration round


def test_the_sdl_with_the_federation_directives_passes_strict_validation() -> None:
    """What graphql-codegen and other strict generators do with gateway/schema.graphql."""
    sdl = (ROOT / "gateway" / "schema.graphql").read_text()
    directives = (ROOT / "clients" / "federation-directives.graphql").read_text()

    schema = build_schema(sdl + "\n" + directives)

    assert schema.subscription_type is not None
    assert "employeeChanged" in schema.subscription_type.fields
