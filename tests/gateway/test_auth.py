"""Bearer tokens and scopes at the gateway: every mutation and sensitive field refused without a
token, with an expired or wrongly signed one, and with the wrong role — before any RPC — and
allowed with the right one; separation of duties between two authenticated users."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from erp.employee.v1 import employee_service_pb2 as api
from erp.employee.v1 import employee_service_pb2_grpc as emp_grpc
from erp.payroll.v1 import payroll_service_pb2_grpc as pay_grpc
from erp.procurement.v1 import procurement_service_pb2 as proc_api
from erp.procurement.v1 import procurement_service_pb2_grpc as proc_grpc
from graphql import GraphQLNonNull, GraphQLObjectType, get_named_type
from jwt.algorithms import RSAAlgorithm
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.auth.devkey import DEV_JWKS_FILE, development_key, issue_token
from gateway.auth.policy import FIELD_SCOPES
from gateway.auth.roles import ROLES
from gateway.auth.tokens import AuthConfig, AuthConfigError, Authenticator, AuthError
from gateway.clients import RPC_COUNTER
from gateway.config import GatewayConfig
from gateway.schema import schema
from services.runtime.service import RunningService
from services.runtime.settings import Settings
from tests.gateway.payroll_data import payroll_org
from tests.gateway.support import new_employee, tag

GRAPHQL = schema._schema
ROOT = Path(__file__).resolve().parents[2]
SENSITIVE = ("socialSecurityNumber", "bankAccountNumber")


# ---- an app with authentication required ----------------------------------------------------------


@pytest.fixture(scope="module")
def auth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("auth")


@pytest.fixture(scope="module")
async def auth_app(
    gateway_settings: Settings, employee_service: RunningService, auth_dir: Path
) -> AsyncIterator[Starlette]:
    config = replace(GatewayConfig(), auth=AuthConfig(mode="required", data_dir=auth_dir))
    app = create_app(gateway_settings, config)
    async with app.router.lifespan_context(app):
        yield app


class Api:
    def __init__(self, client: httpx.AsyncClient, data_dir: Path) -> None:
        self.client, self.data_dir = client, data_dir

    def token(self, *roles: str, user: str | None = None, **kwargs: Any) -> str:
        return issue_token(self.data_dir, uuid.UUID(user) if user else uuid.uuid4(), roles, **kwargs)

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None, **headers: str
    ) -> dict[str, Any]:
        if token:
            headers["authorization"] = f"Bearer {token}"
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None, token: str | None = None) -> Any:
        body = await self.post(query, variables, token)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def refused(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None, **headers: str
    ) -> list[str]:
        """The codes of a refusal, asserting that no data came back and no RPC was made."""
        RPC_COUNTER.reset()
        body = await self.post(query, variables, token, **headers)
        assert RPC_COUNTER.total == 0, RPC_COUNTER.by_name()
        assert "data" not in body and body["errors"], body
        return sorted({e["extensions"]["code"] for e in body["errors"]})


@pytest.fixture
async def gw(auth_app: Starlette, auth_dir: Path) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=auth_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield Api(client, auth_dir)


@pytest.fixture(scope="module")
def foreign_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another data directory: its development key is not the gateway's."""
    return tmp_path_factory.mktemp("foreign")


def forged(gw: Api, foreign_dir: Path, *roles: str) -> str:
    """Signed by another key under the gateway key's id: the signature does not verify."""
    _, kid = development_key(gw.data_dir)
    key, _ = development_key(foreign_dir)
    now = int(time.time())
    claims = {"iss": "erp-dev", "aud": "erp-gateway", "sub": str(uuid.uuid4()), "roles": list(roles)}
    return jwt.encode({**claims, "iat": now, "exp": now + 600}, key, algorithm="ES256", headers={"kid": kid})


# ---- one document per mutation, from the schema -------------------------------------------------


def mutation_document(name: str) -> str:
    field = GRAPHQL.get_type("Mutation").fields[name]  # type: ignore[union-attr]
    required = [(a, arg.type) for a, arg in field.args.items() if isinstance(arg.type, GraphQLNonNull)]
    declared = ", ".join(f"${a}: {t}" for a, t in required)
    passed = ", ".join(f"{a}: ${a}" for a, _ in required)
    selection = " { __typename }" if isinstance(get_named_type(field.type), GraphQLObjectType) else ""
    return f"mutation{f'({declared})' if declared else ''} {{ {name}{f'({passed})' if passed else ''}{selection} }}"


MUTATIONS = sorted(GRAPHQL.get_type("Mutation").fields)  # type: ignore[union-attr]


def role_without(scope: str) -> str:
    return next(r for r in ROLES if scope not in ROLES[r])


def role_with(scope: str) -> str:
    return next(r for r in ROLES if scope in ROLES[r] and r != "admin")


@pytest.mark.parametrize("name", MUTATIONS)
async def test_every_mutation_is_refused_without_the_right_token(gw: Api, foreign_dir: Path, name: str) -> None:
    document, scope = mutation_document(name), FIELD_SCOPES[f"Mutation.{name}"]
    expired = gw.token(role_with(scope), now=time.time() - 7200, ttl_s=3600)
    other_key = issue_token(foreign_dir, uuid.uuid4(), [role_with(scope)])

    assert await gw.refused(document) == ["UNAUTHENTICATED"]
    assert await gw.refused(document, token=expired) == ["UNAUTHENTICATED"]
    assert await gw.refused(document, token=other_key) == ["UNAUTHENTICATED"]
    assert await gw.refused(document, token=forged(gw, foreign_dir, role_with(scope))) == ["UNAUTHENTICATED"]
    assert await gw.refused(document, token="not-a-jwt") == ["UNAUTHENTICATED"]
    assert await gw.refused(document, token=gw.token(role_without(scope))) == ["FORBIDDEN"]
    assert await gw.refused(document, token=gw.token("auditor")) == ["FORBIDDEN"]
    # The right role passes the scope check: only the (absent) variables stop it now, still before any RPC.
    allowed = await gw.refused(document, token=gw.token(role_with(scope))) if "$" in document else None
    assert allowed in (None, ["BAD_USER_INPUT"])


CREATE_DEPARTMENT = "mutation($i: CreateDepartmentInput!) { createDepartment(input: $i) { id name } }"
DEPARTMENTS = "query($n: String!) { departments(filter: {search: $n}) { edges { node { id name } } } }"


async def test_a_refused_mutation_writes_nothing_and_the_right_role_writes(
    gw: Api, stub: emp_grpc.EmployeeServiceStub
) -> None:
    name = f"Auth {tag()}"
    variables = {"i": {"name": name, "code": f"A{tag()}"}}
    for token in (None, gw.token("auditor"), gw.token("payroll"), gw.token("hr", now=time.time() - 7200)):
        await gw.refused(CREATE_DEPARTMENT, variables, token)
    listed = await stub.ListDepartments(api.ListDepartmentsRequest(page_size=500))
    assert name not in {d.name for d in listed.departments}

    created = (await gw.data(CREATE_DEPARTMENT, variables, gw.token("hr")))["createDepartment"]
    assert created["name"] == name


SENSITIVE_PATHS = [
    "query($id: ID!) {{ employee(id: $id) {{ id {f} }} }}",
    "query {{ employees(first: 1) {{ edges {{ node {{ {f} }} }} }} }}",
    "query {{ departments(first: 1) {{ edges {{ node {{ manager {{ {f} }} }} }} }} }}",
    "query {{ payrollRecords(first: 1) {{ edges {{ node {{ employee {{ {f} }} }} }} }} }}",
    'query {{ _entities(representations: [{{__typename: "Employee", id: "x"}}]) {{ ... on Employee {{ {f} }} }} }}',
]


@pytest.mark.parametrize("field", SENSITIVE)
async def test_sensitive_fields_are_refused_without_the_hr_scope(
    gw: Api, foreign_dir: Path, stub: emp_grpc.EmployeeServiceStub, field: str
) -> None:
    employee = await new_employee(stub, f"auth-{tag()}@example.com")
    for path in SENSITIVE_PATHS:
        document = path.format(f=field)
        variables = {"id": employee.id} if "$id" in document else {}
        assert await gw.refused(document, variables) == ["UNAUTHENTICATED"]
        assert await gw.refused(document, variables, gw.token("hr", now=time.time() - 7200)) == ["UNAUTHENTICATED"]
        assert await gw.refused(document, variables, forged(gw, foreign_dir, "hr")) == ["UNAUTHENTICATED"]
        for role in ("auditor", "payroll", "finance_manager", "accountant"):
            assert await gw.refused(document, variables, gw.token(role)) == ["FORBIDDEN"], (role, document)

    allowed = await gw.data(SENSITIVE_PATHS[0].format(f=field), {"id": employee.id}, gw.token("hr"))
    assert allowed["employee"]["id"] == employee.id


async def test_the_auditor_reads_everywhere_but_writes_nothing_and_sees_nothing_sensitive(
    gw: Api, stub: emp_grpc.EmployeeServiceStub
) -> None:
    employee = await new_employee(stub, f"audit-{tag()}@example.com")
    auditor = gw.token("auditor")
    read = await gw.data("query($id: ID!) { employee(id: $id) { id email } }", {"id": employee.id}, auditor)
    assert read["employee"] == {"id": employee.id, "email": employee.email}
    assert await gw.refused(
        "query($id: ID!) { employee(id: $id) { id socialSecurityNumber } }", {"id": employee.id}, auditor
    ) == ["FORBIDDEN"]
    assert await gw.refused(CREATE_DEPARTMENT, {"i": {"name": "x", "code": f"X{tag()}"}}, auditor) == ["FORBIDDEN"]


async def test_reads_need_the_service_scope_of_every_type_reached(gw: Api) -> None:
    warehouse, hr = gw.token("warehouse"), gw.token("hr")
    assert await gw.refused("query { employees(first: 1) { edges { node { id } } } }", token=warehouse) == ["FORBIDDEN"]
    # hr reads payroll records, but not the journal entries they reference (accounting:read)
    body = await gw.post("query { payrollRecords(first: 1) { edges { node { journalEntry { id } } } } }", token=hr)
    assert [e["extensions"]["scope"] for e in body["errors"]] == ["accounting:read"]
    introspection = await gw.post("query { __typename }", token=warehouse)
    assert introspection == {"data": {"__typename": "Query"}}


async def test_the_user_header_is_ignored_when_authentication_is_required(gw: Api) -> None:
    assert await gw.refused(
        "query { employees(first: 1) { edges { node { id } } } }", **{"x-erp-user-id": str(uuid.uuid4())}
    ) == ["UNAUTHENTICATED"]


async def test_clock_skew_is_bounded(gw: Api) -> None:
    query = "query { __typename }"
    assert (await gw.post(query, token=gw.token("hr", now=time.time() - 3610, ttl_s=3600))).get("data")
    assert await gw.refused(query, token=gw.token("hr", now=time.time() - 3700, ttl_s=3600)) == ["UNAUTHENTICATED"]
    assert await gw.refused(query, token=gw.token("hr", now=time.time() + 600)) == ["UNAUTHENTICATED"]


# ---- separation of duties, between two authenticated users ---------------------------------------

RUN = """mutation($i: RunPayrollInput!) { runPayroll(input: $i) { payrollRun { id createdBy } } }"""
APPROVE_RUN = "mutation($id: ID!) { approvePayrollRun(id: $id) { id approvedBy } }"


async def test_the_creator_of_a_payroll_run_cannot_approve_it(
    gw: Api, stub: emp_grpc.EmployeeServiceStub, payroll: pay_grpc.PayrollServiceStub
) -> None:
    creator_id, approver_id, impersonated = (str(uuid.uuid4()) for _ in range(3))
    creator, approver = gw.token("payroll", user=creator_id), gw.token("finance_manager", user=approver_id)
    org = await payroll_org(stub, payroll, 2)
    period = {"payPeriodStart": "2062-05-01", "payPeriodEnd": "2062-05-31", "department": org.departments[0].name}
    body = await gw.post(RUN, {"i": period}, creator, **{"x-erp-user-id": impersonated})
    run = body["data"]["runPayroll"]["payrollRun"]
    assert run["createdBy"] == creator_id  # the token's user, not the header's

    own = (await gw.post(APPROVE_RUN, {"id": run["id"]}, creator))["errors"][0]
    assert own["extensions"]["code"] == "FAILED_PRECONDITION"
    assert await gw.refused(APPROVE_RUN, {"id": run["id"]}, gw.token("hr")) == ["FORBIDDEN"]
    approved = await gw.data(APPROVE_RUN, {"id": run["id"]}, approver)
    assert approved["approvePayrollRun"]["approvedBy"] == approver_id


CREATE_ORDER = "mutation($i: CreatePurchaseOrderInput!) { createPurchaseOrder(input: $i) { id status version } }"
APPROVE_ORDER = "mutation($i: PurchaseOrderVersionInput!) { approvePurchaseOrder(input: $i) { status approvedBy } }"


async def test_the_creator_of_a_large_purchase_order_cannot_approve_it(
    gw: Api, procurement: proc_grpc.ProcurementServiceStub
) -> None:
    creator_id, approver_id = str(uuid.uuid4()), str(uuid.uuid4())
    creator, approver = (
        gw.token("ap_clerk", "finance_manager", user=creator_id),
        gw.token("finance_manager", user=approver_id),
    )
    vendor = (
        await procurement.CreateVendor(proc_api.CreateVendorRequest(name=f"Auth {tag()}", email=f"{tag()}@example.com"))
    ).vendor
    order_input = {
        "vendorId": vendor.id,
        "orderDate": time.strftime("%Y-%m-%d"),
        "requestingDepartment": "Ops",
        "items": [{"sku": f"AUTH-{tag()}", "quantity": 100, "unitPrice": "150.00", "description": "Bolts"}],
    }
    order = (await gw.data(CREATE_ORDER, {"i": order_input}, creator))["createPurchaseOrder"]
    versioned = {"i": {"id": order["id"], "version": order["version"]}}
    own = (await gw.post(APPROVE_ORDER, versioned, creator))["errors"][0]
    assert own["extensions"]["code"] == "FAILED_PRECONDITION", own
    assert await gw.refused(APPROVE_ORDER, versioned, gw.token("ap_clerk")) == ["FORBIDDEN"]
    approved = (await gw.data(APPROVE_ORDER, versioned, approver))["approvePurchaseOrder"]
    assert approved == {"status": "APPROVED", "approvedBy": approver_id}


# ---- `erp token` and production -------------------------------------------------------------------


def erp_token(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "services.ops.cli", "token", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)


async def test_erp_token_issues_a_token_the_gateway_accepts(gw: Api, stub: emp_grpc.EmployeeServiceStub) -> None:
    user = str(uuid.uuid4())
    env = {**os.environ, "ERP_DATA_DIR": str(gw.data_dir)}
    env.pop("ERP_ENV", None)
    done = await asyncio.to_thread(erp_token, env, "--role", "hr", "--user", user, "--ttl", "600")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == user
    employee = await new_employee(stub, f"cli-{tag()}@example.com")
    read = await gw.data("query($id: ID!) { employee(id: $id) { id bankAccountNumber } }", {"id": employee.id}, token)
    assert read["employee"]["id"] == employee.id
    bad = await asyncio.to_thread(erp_token, {**env, "ERP_ENV": "production"}, "--role", "hr", "--user", user)
    assert bad.returncode != 0 and not bad.stdout.strip()


def rsa_jwks(tmp_path: Path) -> tuple[rsa.RSAPrivateKey, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "idp-1", "use": "sig", "alg": "RS256"})
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    return key, path


def test_production_never_accepts_the_development_key(tmp_path: Path, gateway_settings: Settings) -> None:
    development_key(tmp_path)
    production = AuthConfig(
        mode="required", environment="production", data_dir=tmp_path, issuer="https://idp", audience="erp"
    )
    with pytest.raises(AuthConfigError):  # no JWKS configured: the development one is not used
        Authenticator(production)
    with pytest.raises(AuthConfigError):  # the development JWKS configured
        Authenticator(replace(production, jwks_file=tmp_path / DEV_JWKS_FILE))
    copied = tmp_path / "copied.json"
    copied.write_text((tmp_path / DEV_JWKS_FILE).read_text())
    with pytest.raises(AuthConfigError):  # a copy of it
        Authenticator(replace(production, jwks_file=copied))
    with pytest.raises(AuthConfigError):  # the gateway does not start
        create_app(gateway_settings, replace(GatewayConfig(), auth=replace(production, jwks_file=copied)))
    with pytest.raises(AuthConfigError):
        AuthConfig.from_env({"ERP_ENV": "production"})
    assert AuthConfig.from_env({"ERP_ENV": "production", "ERP_AUTH_ISSUER": "i", "ERP_AUTH_AUDIENCE": "a"}).required
    assert not AuthConfig.from_env({}).required

    key, jwks = rsa_jwks(tmp_path)
    authenticator = Authenticator(replace(production, jwks_file=jwks))
    now = int(time.time())
    claims = {"iss": "https://idp", "aud": "erp", "sub": str(uuid.uuid4()), "roles": ["auditor"], "iat": now}
    good = jwt.encode({**claims, "exp": now + 60}, key, algorithm="RS256", headers={"kid": "idp-1"})
    assert authenticator.verify(good).roles == ("auditor",)
    dev = issue_token(tmp_path, uuid.uuid4(), ["admin"], issuer="https://idp", audience="erp")
    with pytest.raises(AuthError):
        authenticator.verify(dev)
    for wrong in ({"iss": "https://other"}, {"aud": "someone-else"}, {"exp": now - 100}):
        with pytest.raises(AuthError):
            authenticator.verify(jwt.encode({**claims, "exp": now + 60, **wrong}, key, algorithm="RS256"))
    hs = jwt.encode({**claims, "exp": now + 60}, "a-shared-secret-of-at-least-32-bytes!", algorithm="HS256")
    with pytest.raises(AuthError):  # only RS256 / ES256
        authenticator.verify(hs)
