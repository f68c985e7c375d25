"""gRPC failures become GraphQL errors with a code, the service, its status, and no internals."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any

import httpx
from erp.employee.v1 import employee_service_pb2_grpc as api_grpc

from gateway.app import create_app
from services.ops.embedded import free_port
from services.runtime.settings import Settings
from tests.gateway.support import Gql, new_employee, tag

CREATE = "mutation($i: CreateEmployeeInput!) { createEmployee(input: $i) { id } }"
UPDATE = "mutation($i: UpdateEmployeeInput!) { updateEmployee(input: $i) { id version } }"


def hire(**overrides: Any) -> dict[str, Any]:
    return {
        "firstName": "Alan",
        "lastName": "Turing",
        "email": f"alan-{tag()}@example.com",
        "jobTitle": "Mathematician",
        "salary": "70000.00",
        "hireDate": "2022-02-01",
        **overrides,
    }


async def test_unknown_employee_is_not_found(gql: Gql) -> None:
    error = await gql.error("query($id: ID!) { employee(id: $id) { id } }", {"id": str(uuid.uuid4())})

    assert error["path"] == ["employee"]
    assert error["extensions"] == {"code": "NOT_FOUND", "service": "employee", "grpcStatus": "NOT_FOUND"}
    assert "not found" in error["message"]


async def test_unknown_department_is_not_found(gql: Gql) -> None:
    error = await gql.error("query($id: ID!) { department(id: $id) { id } }", {"id": str(uuid.uuid4())})

    assert error["extensions"]["code"] == "NOT_FOUND"


async def test_bad_input_is_bad_user_input_with_field_violations(gql: Gql) -> None:
    error = await gql.error(CREATE, {"i": hire(email="not-an-email", salary="-5", firstName=" ")})

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["grpcStatus"] == "INVALID_ARGUMENT"
    violations = {v["field"]: v["description"] for v in error["extensions"]["fieldViolations"]}
    assert violations == {
        "first_name": "is required",
        "email": "must be an e-mail address",
        "salary": "must be greater than zero",
    }


async def test_a_float_is_not_a_decimal(gql: Gql) -> None:
    error = await gql.error(CREATE, {"i": hire(salary=70000.1)})

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Decimal values are strings" in error["message"]


async def test_duplicate_email_is_a_conflict(gql: Gql, stub: api_grpc.EmployeeServiceStub) -> None:
    existing = await new_employee(stub, f"dup-{tag()}@example.com")

    error = await gql.error(CREATE, {"i": hire(email=existing.email)})

    assert error["extensions"] == {"code": "CONFLICT", "service": "employee", "grpcStatus": "ALREADY_EXISTS"}
    assert error["message"] == "an employee with this e-mail already exists"


async def test_stale_version_is_a_conflict_with_status_aborted(gql: Gql, stub: api_grpc.EmployeeServiceStub) -> None:
    employee = await new_employee(stub, f"stale-{tag()}@example.com")
    await gql.data(UPDATE, {"i": {"id": employee.id, "version": 1, "jobTitle": "Lead"}})

    error = await gql.error(UPDATE, {"i": {"id": employee.id, "version": 1, "jobTitle": "Boss"}})

    assert error["extensions"] == {"code": "CONFLICT", "service": "employee", "grpcStatus": "ABORTED"}
    assert "version 2, not 1" in error["message"]


async def test_forbidden_state_change_is_failed_precondition(gql: Gql, stub: api_grpc.EmployeeServiceStub) -> None:
    employee = await new_employee(stub, f"leave-{tag()}@example.com")

    error = await gql.error(
        "mutation($i: LeaveInput!) { endLeave(input: $i) { id } }", {"i": {"id": employee.id, "version": 1}}
    )

    assert error["extensions"]["code"] == "FAILED_PRECONDITION"
    assert error["extensions"]["grpcStatus"] == "FAILED_PRECONDITION"


async def test_update_without_fields_is_refused_by_the_gateway(gql: Gql) -> None:
    error = await gql.error(UPDATE, {"i": {"id": str(uuid.uuid4()), "version": 1}})

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["fieldViolations"] == [
        {"field": "input", "description": "name at least one field to change"}
    ]


async def test_a_cursor_the_gateway_did_not_issue_is_bad_input(gql: Gql) -> None:
    error = await gql.error('{ employees(after: "bogus!") { totalCount } }')

    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["fieldViolations"][0]["field"] == "after"


async def test_an_unreachable_service_is_unavailable_without_internals(settings: Settings) -> None:
    dead = replace(settings, grpc_ports={**settings.grpc_ports, "employee": free_port()}, rpc_deadline_s=2.0)
    app = create_app(dead)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client,
    ):
        error = await Gql(client).error("query($id: ID!) { employee(id: $id) { id } }", {"id": str(uuid.uuid4())})

    assert error["extensions"] == {"code": "UNAVAILABLE", "service": "employee", "grpcStatus": "UNAVAILABLE"}
    assert error["message"] == "the employee service is unavailable; retry shortly"
    assert "127.0.0.1" not in str(error)
