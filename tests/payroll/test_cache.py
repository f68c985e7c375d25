"""The employee cache: kept from real employee events, version-guarded, refilled by batch RPCs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import grpc
import pytest
from erp.employee.v1 import employee_pb2 as emp
from erp.employee.v1 import employee_service_pb2 as emp_api
from erp.employee.v1 import employee_service_pb2_grpc as emp_grpc
from erp.employee.v1 import events_pb2 as emp_ev
from erp.payroll.v1 import payroll_service_pb2 as api
from google.protobuf.field_mask_pb2 import FieldMask
from nats.aio.client import Client

from services.runtime.service import RunningService
from services.runtime.settings import Settings
from tests.payroll.helpers import Stub, cache_employee, cache_row, day, dec, processed_result, publish, tag
from tests.runtime.helpers import eventually

Employees = emp_grpc.EmployeeServiceStub
CALLER = (("x-erp-user-id", str(uuid.uuid4())),)


async def hire(employees: Employees, department_id: str = "", salary: str = "52000.00") -> emp.Employee:
    request = emp_api.CreateEmployeeRequest(
        first_name="Katherine",
        last_name=f"Johnson{tag()}",
        email=f"kj-{tag()}@example.com",
        job_title="Mathematician",
        salary=dec(salary),
        hire_date=day(2021, 2, 1),
        department_id=department_id,
    )
    return (await employees.CreateEmployee(request, metadata=CALLER)).employee


async def new_department(employees: Employees) -> emp.Department:
    request = emp_api.CreateDepartmentRequest(name=f"Research {tag()}", code=f"R{tag()}")
    return (await employees.CreateDepartment(request, metadata=CALLER)).department


async def set_salary(employees: Employees, e: emp.Employee, salary: str) -> emp.Employee:
    request = emp_api.UpdateEmployeeRequest(
        employee=emp.Employee(id=e.id, salary=dec(salary)), update_mask=FieldMask(paths=["salary"]), version=e.version
    )
    return (await employees.UpdateEmployee(request, metadata=CALLER)).employee


def cached_at(db: asyncpg.Connection, employee_id: str, version: int) -> Callable[[], Awaitable[Any]]:
    async def check() -> Any:
        row = await cache_row(db, employee_id)
        return row if row and row["employee_version"] == version else None

    return check


class CountingInterceptor(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Records the method of every call payroll makes to the employee service."""

    def __init__(self) -> None:
        self.methods: list[str] = []

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        method = details.method.decode() if isinstance(details.method, bytes) else details.method
        self.methods.append(method.rsplit("/", 1)[1])
        return await continuation(details, request)


@pytest.fixture
async def employee_calls(payroll_service: RunningService, settings: Settings) -> AsyncIterator[CountingInterceptor]:
    """Route payroll's channel to the employee service through a counting interceptor."""
    counter = CountingInterceptor()
    original = payroll_service.deps.channels.get("employee")
    channel = grpc.aio.insecure_channel(settings.grpc_address("employee"), interceptors=[counter])
    payroll_service.deps.channels["employee"] = channel
    yield counter
    if original is None:
        del payroll_service.deps.channels["employee"]
    else:
        payroll_service.deps.channels["employee"] = original
    await channel.close()


async def test_an_employee_update_reaches_the_cache_within_a_second(
    stub: Stub, employees: Employees, db: asyncpg.Connection
) -> None:
    department = await new_department(employees)
    e = await hire(employees, department.id)
    row = await eventually(cached_at(db, e.id, 1), timeout_s=10.0)
    assert (row["first_name"], row["salary"], row["department"], row["status"]) == (
        "Katherine",
        Decimal("52000.00"),
        department.name,
        "active",
    )
    assert row["department_id"] == uuid.UUID(department.id) and row["hire_date"] == date(2021, 2, 1)

    await set_salary(employees, e, "61000.00")
    row = await eventually(cached_at(db, e.id, 2), timeout_s=1.0)
    assert row["salary"] == Decimal("61000.00")


async def test_a_stale_event_changes_nothing(
    stub: Stub, db: asyncpg.Connection, nats_client: Client, settings: Settings
) -> None:
    key = await cache_employee(db, f"Stale {tag()}", salary="40000.00", version=5)
    before = await cache_row(db, key)
    stale = emp_ev.EmployeeUpdated(employee_id=str(key), changed_fields=["salary"], salary=dec("1.00"), version=4)
    same = emp_ev.EmployeeUpdated(employee_id=str(key), changed_fields=["salary"], salary=dec("2.00"), version=5)
    for message in (stale, same):
        event_id = await publish(nats_client, settings, message, str(key))
        assert '"stale"' in await eventually(lambda eid=event_id: processed_result(db, eid), timeout_s=10.0)
    assert await cache_row(db, key) == before
    # The next version applies.
    following = emp_ev.EmployeeUpdated(
        employee_id=str(key), changed_fields=["salary"], salary=dec("41000.00"), version=6
    )
    await publish(nats_client, settings, following, str(key))
    row = await eventually(cached_at(db, str(key), 6), timeout_s=10.0)
    assert row["salary"] == Decimal("41000.00")


async def test_a_version_gap_is_filled_from_the_employee_service(
    stub: Stub, employees: Employees, db: asyncpg.Connection, nats_client: Client, settings: Settings
) -> None:
    e = await set_salary(employees, await hire(employees), "53000.00")
    await eventually(cached_at(db, e.id, 2), timeout_s=10.0)
    # Pretend the cache missed an event: it holds version 1 with a wrong salary, then v3 arrives.
    await db.execute(
        "UPDATE employee_cache SET employee_version = 1, salary = 1 WHERE employee_id = $1", uuid.UUID(e.id)
    )
    e = await set_salary(employees, e, "54000.00")  # the real v3 event is also on its way
    gap = emp_ev.EmployeeUpdated(employee_id=e.id, changed_fields=["job_title"], job_title="x", version=3)
    await publish(nats_client, settings, gap, e.id)
    row = await eventually(cached_at(db, e.id, 3), timeout_s=10.0)
    assert row["salary"] == Decimal("54000.00")


async def test_misses_are_fetched_with_one_batch_call(
    stub: Stub, employees: Employees, db: asyncpg.Connection, employee_calls: CountingInterceptor
) -> None:
    department = await new_department(employees)
    hired = [await hire(employees, department.id) for _ in range(3)]
    for e in hired:
        await eventually(cached_at(db, e.id, 1), timeout_s=10.0)
    await db.execute("DELETE FROM employee_cache WHERE employee_id = ANY($1::uuid[])", [uuid.UUID(e.id) for e in hired])
    employee_calls.methods.clear()

    response = await stub.RebuildEmployeeCache(api.RebuildEmployeeCacheRequest(employee_ids=[e.id for e in hired]))
    assert response.entry_count == 3
    assert employee_calls.methods == ["BatchGetEmployees", "BatchGetDepartments"]
    for e in hired:
        row = await cache_row(db, e.id)
        assert row is not None and row["department"] == department.name

    # An event about an employee the cache does not hold: one batch call fills it in.
    await db.execute("DELETE FROM employee_cache WHERE employee_id = $1", uuid.UUID(hired[0].id))
    employee_calls.methods.clear()
    await set_salary(employees, hired[0], "70000.00")
    row = await eventually(cached_at(db, hired[0].id, 2), timeout_s=10.0)
    assert row["salary"] == Decimal("70000.00")
    assert employee_calls.methods.count("BatchGetEmployees") == 1


async def test_rebuild_restores_a_wiped_cache(stub: Stub, employees: Employees, db: asyncpg.Connection) -> None:
    department = await new_department(employees)
    kept = await hire(employees, department.id)
    leaver = await hire(employees)
    leaver = (
        await employees.TerminateEmployee(
            emp_api.TerminateEmployeeRequest(id=leaver.id, termination_date=day(2024, 3, 10), version=leaver.version),
            metadata=CALLER,
        )
    ).employee
    await eventually(cached_at(db, kept.id, 1), timeout_s=10.0)
    await eventually(cached_at(db, leaver.id, 2), timeout_s=10.0)
    ids = [uuid.UUID(kept.id), uuid.UUID(leaver.id)]
    snapshot = await db.fetch("SELECT * FROM employee_cache WHERE employee_id = ANY($1::uuid[]) ORDER BY 1", ids)

    await db.execute("DELETE FROM employee_cache")
    response = await stub.RebuildEmployeeCache(api.RebuildEmployeeCacheRequest())
    total = (await employees.ListEmployees(emp_api.ListEmployeesRequest(page_size=1))).total_size
    assert response.entry_count == total >= 2
    assert await db.fetchval("SELECT count(*) FROM employee_cache") == total
    restored = await db.fetch("SELECT * FROM employee_cache WHERE employee_id = ANY($1::uuid[]) ORDER BY 1", ids)

    def without_sync_time(rows: list[asyncpg.Record]) -> list[dict[str, Any]]:
        return [{k: v for k, v in dict(r).items() if k != "last_synced_at"} for r in rows]

    assert without_sync_time(restored) == without_sync_time(snapshot)
    assert restored[[r["employee_id"] for r in restored].index(uuid.UUID(leaver.id))]["status"] == "terminated"


async def test_terminations_rehires_and_department_renames_follow(
    stub: Stub, employees: Employees, db: asyncpg.Connection
) -> None:
    department = await new_department(employees)
    e = await hire(employees, department.id)
    e = (
        await employees.TerminateEmployee(
            emp_api.TerminateEmployeeRequest(id=e.id, termination_date=day(2024, 5, 31), version=e.version),
            metadata=CALLER,
        )
    ).employee
    row = await eventually(cached_at(db, e.id, 2), timeout_s=10.0)
    assert (row["status"], row["termination_date"]) == ("terminated", date(2024, 5, 31))
    e = (
        await employees.RehireEmployee(
            emp_api.RehireEmployeeRequest(
                id=e.id, hire_date=day(2024, 9, 1), salary=dec("58000.00"), version=e.version
            ),
            metadata=CALLER,
        )
    ).employee
    row = await eventually(cached_at(db, e.id, 3), timeout_s=10.0)
    assert (row["status"], row["termination_date"], row["hire_date"], row["salary"]) == (
        "active",
        None,
        date(2024, 9, 1),
        Decimal("58000.00"),
    )
    assert row["department"] == department.name

    renamed = f"Renamed {tag()}"
    await employees.UpdateDepartment(
        emp_api.UpdateDepartmentRequest(
            department=emp.Department(id=department.id, name=renamed), update_mask=FieldMask(paths=["name"])
        ),
        metadata=CALLER,
    )

    async def renamed_in_cache() -> bool:
        current = await cache_row(db, e.id)
        return current is not None and current["department"] == renamed

    await eventually(renamed_in_cache, timeout_s=10.0)
