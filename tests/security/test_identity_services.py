"""Services with security enabled (ERP_SECURITY): a call straight to a service without a valid
signed identity is refused before anything runs; audit columns name the verified user, never the
plain `x-erp-user-id` header; services call services with their own identity; a request's
correlation id reaches the events it caused, across services."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import grpc
import pytest
from erp.employee.v1 import employee_pb2 as emp_pb
from erp.employee.v1 import employee_service_pb2 as emp
from erp.employee.v1 import employee_service_pb2_grpc as emp_grpc
from erp.payroll.v1 import payroll_pb2 as pay_pb
from erp.payroll.v1 import payroll_service_pb2 as pay
from erp.payroll.v1 import payroll_service_pb2_grpc as pay_grpc
from google.type.date_pb2 import Date
from google.type.decimal_pb2 import Decimal as PbDecimal
from grpc_reflection.v1alpha import reflection_pb2

from services.ops.supervisor import grpc_healthy
from services.runtime.grpc_client import service_channel
from services.runtime.identity import Identity, IdentityKeys
from services.runtime.settings import Settings
from tests.employee.helpers import employee_request, mask
from tests.runtime.helpers import eventually
from tests.security.secure_env import MD_IDENTITY, SecureSystem, migrate, secure_settings

if TYPE_CHECKING:  # the generated stubs type grpc.aio calls here (.pyi only)
    from erp.employee.v1.employee_service_pb2_grpc import EmployeeServiceAsyncStub
    from erp.payroll.v1.payroll_service_pb2_grpc import PayrollServiceAsyncStub

SERVICES = ("employee", "payroll", "accounting")
ATTACKER = str(uuid.uuid4())
CORRELATION = "x-erp-correlation-id"


@pytest.fixture(scope="module")
async def system(settings: Settings) -> AsyncIterator[SecureSystem]:
    own = secure_settings(settings)
    await migrate(own, SERVICES)
    s = SecureSystem(own)
    await s.start(SERVICES)
    admin = uuid.uuid4()
    await payroll(s).CreateTaxRate(
        pay.CreateTaxRateRequest(
            year=2026,
            federal_rate=PbDecimal(value="0.1000"),
            state_rate=PbDecimal(value="0.0500"),
            social_security_rate=PbDecimal(value="0.0620"),
            medicare_rate=PbDecimal(value="0.0145"),
            effective_from=Date(year=2026, month=1, day=1),
        ),
        metadata=s.as_user(admin),
    )
    yield s
    await s.stop()


def update_request(
    employee: emp_pb.Employee, paths: list[str], version: int, **fields: Any
) -> emp.UpdateEmployeeRequest:
    return emp.UpdateEmployeeRequest(
        employee=emp_pb.Employee(id=employee.id, **fields), update_mask=mask(*paths), version=version
    )


def employees(s: SecureSystem) -> EmployeeServiceAsyncStub:
    return emp_grpc.EmployeeServiceStub(s.channels["employee"])


def payroll(s: SecureSystem) -> PayrollServiceAsyncStub:
    return pay_grpc.PayrollServiceStub(s.channels["payroll"])


async def counts(s: SecureSystem) -> dict[str, int]:
    tables = ("employees", "employee_history", "event_store", "outbox")
    rows = await s.sql("employee", " UNION ALL ".join(f"SELECT '{t}' AS t, count(*) AS n FROM {t}" for t in tables))
    return {r["t"]: r["n"] for r in rows}


def forged_identities(s: SecureSystem) -> dict[str, tuple[tuple[str, str], ...]]:
    user = uuid.uuid4()
    other = IdentityKeys(secrets.token_bytes(32))
    valid = s.keys.sign(Identity.for_user(user, ["admin"]))
    version, body, mac = valid.split(".")
    claims = base64.urlsafe_b64decode(body + "==").replace(str(user).encode(), str(uuid.uuid4()).encode())
    tampered = f"{version}.{base64.urlsafe_b64encode(claims).rstrip(b'=').decode()}.{mac}"
    return {
        "no identity, only the plain user header": (("x-erp-user-id", str(user)),),
        "signed with another key": ((MD_IDENTITY, other.sign(Identity.for_user(user, ["admin"]))),),
        "claims changed after signing": ((MD_IDENTITY, tampered),),
        "expired": ((MD_IDENTITY, s.keys.sign(Identity.for_user(user), now=1_700_000_000)),),
        "garbage": ((MD_IDENTITY, "v1.not.atoken"),),
        "a forged service identity": ((MD_IDENTITY, other.sign(Identity.for_service("payroll", user))),),
    }


async def test_calls_without_a_valid_identity_are_refused_and_write_nothing(system: SecureSystem) -> None:
    before = await counts(system)
    for case, metadata in forged_identities(system).items():
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await employees(system).CreateEmployee(employee_request(), metadata=metadata)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED, case
        with pytest.raises(grpc.aio.AioRpcError) as err:  # reads too: nothing is served to a stranger
            await employees(system).ListEmployees(emp.ListEmployeesRequest(page_size=1), metadata=metadata)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED, case
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await employees(system).CreateEmployee(employee_request())
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert err.value.details() == "missing caller identity"
    assert await counts(system) == before


async def test_health_and_reflection_stay_open(system: SecureSystem) -> None:
    assert await grpc_healthy(system.settings.grpc_address("employee"))  # no identity
    reflect = system.channels["employee"].stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    call = reflect(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names: list[str] = []
    async for reply in call:
        assert isinstance(reply, reflection_pb2.ServerReflectionResponse)
        names += [s.name for s in reply.list_services_response.service]
    assert "erp.employee.v1.EmployeeService" in names


async def test_audit_columns_name_the_verified_user_not_the_header(system: SecureSystem) -> None:
    user = uuid.uuid4()
    metadata = system.as_user(user, ("x-erp-user-id", ATTACKER))
    created = (await employees(system).CreateEmployee(employee_request(), metadata=metadata)).employee
    updated = await employees(system).UpdateEmployee(
        update_request(created, ["job_title"], version=created.version, job_title="Auditor"),
        metadata=system.as_user(user, ("x-erp-user-id", ATTACKER)),
    )
    assert updated.employee.job_title == "Auditor"
    history = await system.sql(
        "employee", "SELECT change_type, changed_by FROM employee_history WHERE employee_id = $1", uuid.UUID(created.id)
    )
    assert len(history) == 2 and {r["changed_by"] for r in history} == {user}
    events = await system.sql(
        "employee", "SELECT id, user_id FROM event_store WHERE aggregate_id = $1", uuid.UUID(created.id)
    )
    assert len(events) == 2 and {r["user_id"] for r in events} == {user}
    outbox = await system.sql(
        "employee", "SELECT headers FROM outbox WHERE event_id = ANY($1::uuid[])", [r["id"] for r in events]
    )
    assert {_headers(r["headers"])["erp-user-id"] for r in outbox} == {str(user)}


def _headers(raw: Any) -> dict[str, str]:
    return dict(json.loads(raw) if isinstance(raw, str) else raw)


async def test_service_to_service_calls_carry_the_service_identity(system: SecureSystem) -> None:
    user = uuid.uuid4()
    created = (await employees(system).CreateEmployee(employee_request(), metadata=system.as_user(user))).employee
    # payroll → employee BatchGetEmployees, as `service:payroll` acting for the user.
    rebuilt = await payroll(system).RebuildEmployeeCache(
        pay.RebuildEmployeeCacheRequest(employee_ids=[created.id]), metadata=system.as_user(user)
    )
    assert rebuilt.entry_count == 1
    # The same call from a service that does not sign (security off on its side) is refused.
    unsigned = service_channel(system.settings, "employee", caller="payroll", keys=None)
    try:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await emp_grpc.EmployeeServiceStub(unsigned).BatchGetEmployees(
                emp.BatchGetEmployeesRequest(ids=[created.id])
            )
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    finally:
        await unsigned.close()
    signed = service_channel(system.settings, "employee", caller="finance", keys=system.keys)
    try:
        got = await emp_grpc.EmployeeServiceStub(signed).BatchGetEmployees(
            emp.BatchGetEmployeesRequest(ids=[created.id])
        )
        assert [e.id for e in got.employees] == [created.id]
    finally:
        await signed.close()


async def test_event_handlers_call_services_with_their_identity(system: SecureSystem) -> None:
    """payroll's consumer refetches an employee it does not have (BatchGetEmployees from a handler:
    no user request, the service identity acting for the event's user)."""
    user = uuid.uuid4()
    created = (await employees(system).CreateEmployee(employee_request(), metadata=system.as_user(user))).employee

    async def cached_version() -> int | None:
        rows = await system.sql(
            "payroll", "SELECT employee_version FROM employee_cache WHERE employee_id = $1", uuid.UUID(created.id)
        )
        return rows[0]["employee_version"] if rows else None

    await eventually(cached_version)
    await system.sql("payroll", "DELETE FROM employee_cache WHERE employee_id = $1", uuid.UUID(created.id))
    await employees(system).UpdateEmployee(
        update_request(created, ["job_title"], version=created.version, job_title="Refetched"),
        metadata=system.as_user(user),
    )
    assert await eventually(cached_version) == created.version + 1


async def test_correlation_and_user_reach_every_event_a_request_caused(system: SecureSystem) -> None:
    hr, creator, approver = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    hiring, approval = str(uuid.uuid4()), str(uuid.uuid4())
    name = f"Sec {secrets.token_hex(4)}"
    dept = await employees(system).CreateDepartment(
        emp.CreateDepartmentRequest(name=name, code=name[-8:].upper()), metadata=system.as_user(hr)
    )
    created = (
        await employees(system).CreateEmployee(
            employee_request(department_id=dept.department.id, hire_date=Date(year=2025, month=6, day=1)),
            metadata=system.as_user(hr, (CORRELATION, hiring)),
        )
    ).employee
    # employee: the request's event carries its correlation id and the verified user ...
    (hired,) = await system.sql(
        "employee",
        "SELECT e.id, e.correlation_id, e.user_id, o.headers FROM event_store e JOIN outbox o ON o.event_id = e.id "
        "WHERE e.aggregate_id = $1",
        uuid.UUID(created.id),
    )
    assert (str(hired["correlation_id"]), hired["user_id"]) == (hiring, hr)
    assert _headers(hired["headers"])["erp-correlation-id"] == hiring

    # ... which payroll handles (its employee cache), under NATS headers carrying them.
    async def handled() -> bool:
        rows = await system.sql("payroll", "SELECT 1 FROM processed_events WHERE event_id = $1", hired["id"])
        return bool(rows)

    await eventually(handled)

    # payroll run approved by another user: PayrollProcessed (payroll) → JournalEntryPosted (accounting).
    run = await payroll(system).RunPayroll(
        pay.RunPayrollRequest(
            pay_period_start=Date(year=2026, month=1, day=1),
            pay_period_end=Date(year=2026, month=1, day=31),
            department=name,
        ),
        metadata=system.as_user(creator, ("x-erp-user-id", ATTACKER)),
    )
    assert run.payroll_run.employee_count == 1
    await payroll(system).ApprovePayrollRun(
        pay.ApprovePayrollRunRequest(id=run.payroll_run.id),
        metadata=system.as_user(approver, (CORRELATION, approval), ("x-erp-user-id", ATTACKER)),
    )
    run_row = await system.sql(
        "payroll", "SELECT created_by, approved_by FROM payroll_runs WHERE id = $1", uuid.UUID(run.payroll_run.id)
    )
    assert (run_row[0]["created_by"], run_row[0]["approved_by"]) == (creator, approver)

    async def processed() -> bool:
        page = await payroll(system).ListPayrollRecords(
            pay.ListPayrollRecordsRequest(payroll_run_id=run.payroll_run.id), metadata=system.as_user(approver)
        )
        return all(r.status == pay_pb.PAYROLL_RECORD_STATUS_PROCESSED for r in page.payroll_records)

    await eventually(processed, timeout_s=30)
    payroll_events = await system.sql(
        "payroll",
        "SELECT id, event_type, correlation_id, user_id FROM event_store WHERE correlation_id = $1",
        uuid.UUID(approval),
    )
    assert "erp.payroll.v1.PayrollProcessed" in {r["event_type"] for r in payroll_events}
    assert {r["user_id"] for r in payroll_events} == {approver}
    processed_ids = [r["id"] for r in payroll_events if r["event_type"] == "erp.payroll.v1.PayrollProcessed"]
    accounting_events = await system.sql(
        "accounting",
        "SELECT e.event_type, e.correlation_id, e.user_id, o.headers FROM event_store e "
        "JOIN outbox o ON o.event_id = e.id WHERE e.correlation_id = $1",
        uuid.UUID(approval),
    )
    assert {r["event_type"] for r in accounting_events} == {"erp.accounting.v1.JournalEntryPosted"}
    assert {r["user_id"] for r in accounting_events} == {approver}
    for row in accounting_events:
        headers = _headers(row["headers"])
        assert headers["erp-correlation-id"] == approval
        assert uuid.UUID(headers["erp-causation-id"]) in processed_ids
    entries = await system.sql(
        "accounting",
        "SELECT posted_by FROM journal_entries WHERE source_service = 'payroll' AND source_id = ANY($1::uuid[])",
        [uuid.UUID(r.id) for r in (await _records(system, run.payroll_run.id, approver))],
    )
    assert [r["posted_by"] for r in entries] == [None]  # postings requested by events are the system's
    # Nothing anywhere names the user the plain header claimed.
    for service in SERVICES:
        assert not await system.sql(service, "SELECT 1 FROM event_store WHERE user_id = $1", uuid.UUID(ATTACKER))


async def _records(s: SecureSystem, run_id: str, user: uuid.UUID) -> list[pay_pb.PayrollRecord]:
    page = await payroll(s).ListPayrollRecords(
        pay.ListPayrollRecordsRequest(payroll_run_id=run_id), metadata=s.as_user(user)
    )
    return list(page.payroll_records)
