"""EmployeeService against the real service (PostgreSQL + NATS, in-process gRPC server).

Every rejected command is also checked for "nothing written": no new row in employees,
departments, employee_history, event_store or outbox, and the touched rows unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from typing import Any

import asyncpg
import grpc
import pytest
from erp.employee.v1 import employee_pb2 as pb
from erp.employee.v1 import employee_service_pb2 as api
from erp.employee.v1 import events_pb2 as ev

from services.runtime.repository import filters_fingerprint
from services.runtime.settings import Settings
from tests.employee.helpers import (
    CALLER,
    IBAN,
    SSN,
    USER_ID,
    Stub,
    counts,
    create_department,
    create_employee,
    day,
    dec,
    department_request,
    email,
    employee_request,
    employee_row,
    event_store_rows,
    get_employee,
    history_rows,
    mask,
    nothing_written,
    outbox_rows,
    records_one_event,
    rejected,
    rpc_error,
    tag,
    terminate,
    violation_fields,
)

Code = grpc.StatusCode
EMPLOYEE_CREATED = "erp.employee.v1.EmployeeCreated"
EMPLOYEE_UPDATED = "erp.employee.v1.EmployeeUpdated"
EMPLOYEE_TERMINATED = "erp.employee.v1.EmployeeTerminated"
EMPLOYEE_REHIRED = "erp.employee.v1.EmployeeRehired"
DEPARTMENT_CREATED = "erp.employee.v1.DepartmentCreated"
DEPARTMENT_UPDATED = "erp.employee.v1.DepartmentUpdated"


def update_request(
    employee: pb.Employee | str, paths: tuple[str, ...] | list[str], version: int = 0, **fields: Any
) -> api.UpdateEmployeeRequest:
    employee_id = employee if isinstance(employee, str) else employee.id
    return api.UpdateEmployeeRequest(
        employee=pb.Employee(id=employee_id, **fields), update_mask=mask(*paths), version=version
    )


def department_update(department_id: str, paths: tuple[str, ...], **fields: Any) -> api.UpdateDepartmentRequest:
    return api.UpdateDepartmentRequest(department=pb.Department(id=department_id, **fields), update_mask=mask(*paths))


def token(body: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


# =================================================================================================
# Reads
# =================================================================================================


async def test_get_employee_basic_view_masks_sensitive_fields(stub: Stub) -> None:
    e = await create_employee(stub, social_security_number=SSN, bank_account_number=IBAN)
    # create answers the basic view: the last four characters only
    assert e.social_security_number == "****6789" and e.bank_account_number == "****3000"
    for view in (api.EMPLOYEE_VIEW_UNSPECIFIED, api.EMPLOYEE_VIEW_BASIC):
        got = (await stub.GetEmployee(api.GetEmployeeRequest(id=e.id, view=view))).employee
        assert got.id == e.id
        assert got.social_security_number == "****6789"
        assert got.bank_account_number == "****3000"
        assert got.email == e.email
        assert got.salary.value == "50000.00"
        assert (got.hire_date.year, got.hire_date.month, got.hire_date.day) == (2020, 1, 15)
        assert got.status == pb.EMPLOYEE_STATUS_ACTIVE
        assert got.version == 1
        assert not got.HasField("termination_date")


async def test_get_employee_sensitive_view_returns_them(stub: Stub) -> None:
    e = await create_employee(stub, social_security_number=SSN, bank_account_number=IBAN)
    got = await get_employee(stub, e.id, sensitive=True)
    assert got.social_security_number == SSN
    assert got.bank_account_number == IBAN


async def test_get_employee_unknown_id_is_not_found(stub: Stub) -> None:
    missing = str(uuid.uuid4())
    err = await rpc_error(stub.GetEmployee(api.GetEmployeeRequest(id=missing)), Code.NOT_FOUND)
    assert missing in err.details()


@pytest.mark.parametrize("bad", ["not-a-uuid", "", "1234", "' OR 1=1 --"])
async def test_get_employee_bad_id_is_invalid_argument(stub: Stub, bad: str) -> None:
    err = await rpc_error(stub.GetEmployee(api.GetEmployeeRequest(id=bad)), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["id"]


async def test_batch_get_employees_with_duplicates_and_unknown_ids(stub: Stub) -> None:
    a = await create_employee(stub, social_security_number=SSN)
    b = await create_employee(stub)
    unknown = str(uuid.uuid4())
    resp = await stub.BatchGetEmployees(api.BatchGetEmployeesRequest(ids=[a.id, b.id, a.id, unknown, b.id]))
    ids = [e.id for e in resp.employees]
    assert sorted(ids) == sorted([a.id, b.id])  # each once; the unknown id is absent
    assert {e.id: e.social_security_number for e in resp.employees} == {a.id: "****6789", b.id: ""}

    sensitive = await stub.BatchGetEmployees(api.BatchGetEmployeesRequest(ids=[a.id], view=api.EMPLOYEE_VIEW_SENSITIVE))
    assert [e.social_security_number for e in sensitive.employees] == [SSN]

    assert list((await stub.BatchGetEmployees(api.BatchGetEmployeesRequest(ids=[unknown]))).employees) == []
    assert list((await stub.BatchGetEmployees(api.BatchGetEmployeesRequest())).employees) == []


async def test_batch_get_employees_rejects_a_bad_id(stub: Stub) -> None:
    err = await rpc_error(
        stub.BatchGetEmployees(api.BatchGetEmployeesRequest(ids=[str(uuid.uuid4()), "nope"])), Code.INVALID_ARGUMENT
    )
    assert violation_fields(err) == ["ids"]


async def test_list_employees_walks_every_page_in_order(stub: Stub) -> None:
    t = tag()
    names = [("Zoe", "A"), ("Al", "B"), ("Zoe", "B"), ("Bo", "C"), ("Bo", "C"), ("Al", "A"), ("Cy", "D")]
    made = [
        await create_employee(stub, first_name=first, last_name=f"Page{t}{last}", social_security_number=SSN)
        for first, last in names
    ]
    expected = sorted(made, key=lambda e: (e.last_name, e.first_name, uuid.UUID(e.id)))

    seen: list[pb.Employee] = []
    page_token, pages = "", 0
    while True:
        resp = await stub.ListEmployees(api.ListEmployeesRequest(query=f"page{t}", page_size=3, page_token=page_token))
        pages += 1
        assert resp.total_size == 7
        assert len(resp.employees) == (3 if resp.next_page_token else 1)
        seen.extend(resp.employees)
        page_token = resp.next_page_token
        if not page_token:
            break
        assert pages < 10, "pagination does not end"
    assert pages == 3
    assert [e.id for e in seen] == [e.id for e in expected]  # order, no duplicates, nothing missing
    assert all(e.social_security_number == "****6789" for e in seen)

    # One page that holds everything has no next token.
    whole = await stub.ListEmployees(api.ListEmployeesRequest(query=f"page{t}"))
    assert [e.id for e in whole.employees] == [e.id for e in expected]
    assert whole.next_page_token == ""
    exact = await stub.ListEmployees(api.ListEmployeesRequest(query=f"page{t}", page_size=7))
    assert len(exact.employees) == 7 and exact.next_page_token == ""


async def test_list_employees_filters_by_department_status_and_query(stub: Stub) -> None:
    t = tag()
    d1 = await create_department(stub)
    d2 = await create_department(stub)
    a = await create_employee(stub, last_name=f"Filt{t}a", department_id=d1.id)
    b = await create_employee(stub, last_name=f"Filt{t}b", department_id=d1.id)
    b = (await stub.StartLeave(api.StartLeaveRequest(id=b.id, version=b.version))).employee
    c = await create_employee(stub, last_name=f"Filt{t}c", department_id=d2.id)
    d = await create_employee(stub, last_name=f"Filt{t}d")
    x = await terminate(stub, await create_employee(stub, last_name=f"Filt{t}x", department_id=d2.id))

    async def ids(**kw: Any) -> tuple[set[str], int]:
        resp = await stub.ListEmployees(api.ListEmployeesRequest(**kw))
        return {e.id for e in resp.employees}, resp.total_size

    assert await ids(department_ids=[d1.id]) == ({a.id, b.id}, 2)
    assert await ids(department_ids=[d1.id, d2.id]) == ({a.id, b.id, c.id, x.id}, 4)
    assert await ids(department_ids=[d1.id, d2.id], statuses=[pb.EMPLOYEE_STATUS_ON_LEAVE]) == ({b.id}, 1)
    assert await ids(department_ids=[d1.id, d2.id], statuses=[pb.EMPLOYEE_STATUS_ACTIVE]) == ({a.id, c.id}, 2)
    assert await ids(department_ids=[d2.id], statuses=[pb.EMPLOYEE_STATUS_TERMINATED]) == ({x.id}, 1)
    assert await ids(query=f"filt{t}") == ({a.id, b.id, c.id, d.id, x.id}, 5)
    assert await ids(query=f"FILT{t}", statuses=[pb.EMPLOYEE_STATUS_ACTIVE, pb.EMPLOYEE_STATUS_ON_LEAVE]) == (
        {a.id, b.id, c.id, d.id},
        4,
    )
    assert await ids(department_ids=[str(uuid.uuid4())]) == (set(), 0)


async def test_list_employees_query_matches_name_and_email_case_insensitively(stub: Stub) -> None:
    t = tag()
    e = await create_employee(stub, first_name="Grace", last_name=f"Hopper{t}", email=f"Mixed.Case.{t}@Example.COM")
    assert e.email == f"mixed.case.{t}@example.com"  # stored normalised

    for query in (f"grace hopper{t}", f"GRACE HOPPER{t}", f"hopper{t}", f"  Hopper{t}  ", f"MIXED.case.{t}@"):
        resp = await stub.ListEmployees(api.ListEmployeesRequest(query=query))
        assert [x.id for x in resp.employees] == [e.id], query
    assert list((await stub.ListEmployees(api.ListEmployeesRequest(query=f"nobody{t}"))).employees) == []


@pytest.mark.parametrize(
    "bad_token",
    [
        "garbage!!",
        "abc",
        base64.urlsafe_b64encode(b"not json").decode(),
        token([1, 2, 3]),
        token({"k": [["s", "x"]]}),
        token({"f": "0"}),
        token({"k": [["t", "not a time"]], "f": "0"}),
        token({"k": [["s", "a"], ["s", "b"]], "f": "0"}),
    ],
)
async def test_list_employees_rejects_a_bad_page_token(stub: Stub, bad_token: str) -> None:
    err = await rpc_error(stub.ListEmployees(api.ListEmployeesRequest(page_token=bad_token)), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["page_token"]


@pytest.mark.parametrize(
    "change",
    [
        {"department_ids": "other"},
        {"statuses": [pb.EMPLOYEE_STATUS_ON_LEAVE]},
        {"query": "someone else"},
        {"department_ids": None},
    ],
)
async def test_list_employees_rejects_a_token_reused_with_other_filters(stub: Stub, change: dict[str, Any]) -> None:
    d1 = await create_department(stub)
    d2 = await create_department(stub)
    for _ in range(2):
        await create_employee(stub, department_id=d1.id)
    first = await stub.ListEmployees(api.ListEmployeesRequest(department_ids=[d1.id], page_size=1))
    assert first.next_page_token

    kw: dict[str, Any] = {"department_ids": [d1.id], "page_size": 1, "page_token": first.next_page_token}
    for key, value in change.items():
        if key == "department_ids":
            kw[key] = [d2.id] if value == "other" else []
        else:
            kw[key] = value
    err = await rpc_error(stub.ListEmployees(api.ListEmployeesRequest(**kw)), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["page_token"]

    # The same filters (in another order) still accept it.
    again = await stub.ListEmployees(
        api.ListEmployeesRequest(department_ids=[d1.id], page_size=1, page_token=first.next_page_token)
    )
    assert len(again.employees) == 1 and again.employees[0].id != first.employees[0].id


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (api.ListEmployeesRequest(statuses=[pb.EMPLOYEE_STATUS_UNSPECIFIED]), "statuses"),
        (api.ListEmployeesRequest(statuses=[pb.EMPLOYEE_STATUS_ACTIVE, 42]), "statuses"),  # type: ignore[list-item]
        (api.ListEmployeesRequest(department_ids=["not-a-uuid"]), "department_ids"),
        (api.ListEmployeesRequest(page_size=-1), "page_size"),
    ],
)
async def test_list_employees_rejects_bad_arguments(stub: Stub, request_: api.ListEmployeesRequest, field: str) -> None:
    err = await rpc_error(stub.ListEmployees(request_), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == [field]


# =================================================================================================
# CreateEmployee
# =================================================================================================


async def test_create_employee_stores_it_and_records_one_event(
    stub: Stub, db: asyncpg.Connection, settings: Settings
) -> None:
    correlation = str(uuid.uuid4())
    address = email("Create").upper()
    req = employee_request(
        first_name="  Ada ",
        email=f"  {address} ",
        phone_number="+1 555 0100",
        salary=dec("123456.78"),
        hire_date=day(2024, 2, 29),
        social_security_number=SSN,
        bank_account_number=IBAN,
    )
    async with records_one_event(db, None, EMPLOYEE_CREATED) as event:
        e = (await stub.CreateEmployee(req, metadata=(*CALLER, ("x-erp-correlation-id", correlation)))).employee
    assert uuid.UUID(e.id)
    assert e.first_name == "Ada"
    assert e.email == address.lower()
    assert e.salary.value == "123456.78"
    assert (e.hire_date.year, e.hire_date.month, e.hire_date.day) == (2024, 2, 29)
    assert e.status == pb.EMPLOYEE_STATUS_ACTIVE
    assert e.version == 1
    assert e.department_id == ""
    assert e.create_time.seconds > 0 and e.update_time == e.create_time

    row = await employee_row(db, e.id)
    assert row is not None
    assert row["email"] == address.lower()
    # Stored encrypted (tests/security has the details): ciphertext with its key id, never the value.
    for column, secret in (("social_security_number", SSN), ("bank_account_number", IBAN)):
        assert row[column].startswith("v1:") and secret not in row[column]
    assert row["status"] == "active" and row["version"] == 1 and row["termination_date"] is None
    assert str(row["salary"]) == "123456.78"

    msg = event.message
    assert isinstance(msg, ev.EmployeeCreated)
    assert msg.employee_id == e.id
    assert (msg.first_name, msg.email, msg.job_title) == ("Ada", address.lower(), "Engineer")
    assert msg.salary.value == "123456.78"
    assert msg.status == pb.EMPLOYEE_STATUS_ACTIVE and msg.version == 1
    assert msg.department_id == "" and msg.department_name == ""
    assert event.store["aggregate_type"] == "Employee"
    assert str(event.store["aggregate_id"]) == e.id
    assert event.store["event_version"] == 1
    assert str(event.store["user_id"]) == USER_ID
    assert str(event.store["correlation_id"]) == correlation
    assert event.outbox["subject"] == f"{settings.subject_root}.employee.EmployeeCreated"
    headers = json.loads(event.outbox["headers"])
    assert headers["ce-type"] == EMPLOYEE_CREATED
    assert headers["ce-id"] == headers["Nats-Msg-Id"] == str(event.outbox["event_id"])
    assert headers["ce-subject"] == e.id
    assert headers["erp-correlation-id"] == correlation
    assert headers["erp-user-id"] == USER_ID

    history = await history_rows(db, e.id)
    assert [h["change_type"] for h in history] == ["created"]
    assert str(history[0]["changed_by"]) == USER_ID
    fields = history[0]["changed_fields"]
    assert fields["email"] == {"old": None, "new": address.lower()}
    assert fields["salary"] == {"old": None, "new": "123456.78"}
    assert fields["social_security_number"] == {"old": None, "new": "****"}
    assert fields["bank_account_number"] == {"old": None, "new": "****"}


async def test_create_employee_in_a_department(stub: Stub, db: asyncpg.Connection) -> None:
    d = await create_department(stub, name=f"Research {tag()}")
    async with records_one_event(db, None, EMPLOYEE_CREATED) as event:
        e = await create_employee(stub, department_id=d.id)
    assert e.department_id == d.id
    assert event.message.department_id == d.id
    assert event.message.department_name == d.name


CREATE_REJECTIONS: list[tuple[str, dict[str, Any], str]] = [
    ("missing first_name", {"first_name": ""}, "first_name"),
    ("blank first_name", {"first_name": "   "}, "first_name"),
    ("long first_name", {"first_name": "x" * 101}, "first_name"),
    ("missing last_name", {"last_name": ""}, "last_name"),
    ("missing job_title", {"job_title": ""}, "job_title"),
    ("missing email", {"email": ""}, "email"),
    ("bad email", {"email": "not-an-email"}, "email"),
    ("email without domain", {"email": "ada@localhost"}, "email"),
    ("salary 0", {"salary": dec("0")}, "salary"),
    ("salary 0.00", {"salary": dec("0.00")}, "salary"),
    ("negative salary", {"salary": dec("-100.00")}, "salary"),
    ("salary with 3 decimals", {"salary": dec("50000.005")}, "salary"),
    ("salary not a number", {"salary": dec("lots")}, "salary"),
    ("salary NaN", {"salary": dec("NaN")}, "salary"),
    ("salary infinite", {"salary": dec("Infinity")}, "salary"),
    ("salary above NUMERIC(10,2)", {"salary": dec("100000000.00")}, "salary"),
    ("missing salary", {"salary": dec("")}, "salary"),
    ("Feb 30", {"hire_date": day(2023, 2, 30)}, "hire_date"),
    ("Feb 29 of a common year", {"hire_date": day(2023, 2, 29)}, "hire_date"),
    ("month 13", {"hire_date": day(2023, 13, 1)}, "hire_date"),
    ("missing hire_date", {"hire_date": None}, "hire_date"),
    ("bad department uuid", {"department_id": "dept-1"}, "department_id"),
    ("unknown department", {"department_id": str(uuid.uuid4())}, "department_id"),
    ("long phone_number", {"phone_number": "1" * 21}, "phone_number"),
    ("long social_security_number", {"social_security_number": "9" * 21}, "social_security_number"),
    ("long bank_account_number", {"bank_account_number": "D" * 51}, "bank_account_number"),
]


@pytest.mark.parametrize(
    ("overrides", "field"), [c[1:] for c in CREATE_REJECTIONS], ids=[c[0] for c in CREATE_REJECTIONS]
)
async def test_create_employee_rejects_a_bad_field(
    stub: Stub, db: asyncpg.Connection, overrides: dict[str, Any], field: str
) -> None:
    req = employee_request(social_security_number=SSN, bank_account_number=IBAN)
    for name, value in overrides.items():
        if value is None:
            req.ClearField(name)
        elif isinstance(value, str):
            setattr(req, name, value)
        else:
            getattr(req, name).CopyFrom(value)
    err = await rejected(db, lambda: stub.CreateEmployee(req), Code.INVALID_ARGUMENT, fields=(field,))
    assert {f.split(".")[-1] for f in violation_fields(err)} == {field}  # nothing else is blamed
    assert SSN not in err.details() and IBAN not in err.details()


async def test_create_employee_reports_every_violation_at_once(stub: Stub, db: asyncpg.Connection) -> None:
    req = employee_request(
        first_name="", email="nope", salary=dec("1.234"), hire_date=day(2023, 2, 30), department_id="bad"
    )
    err = await rejected(db, lambda: stub.CreateEmployee(req), Code.INVALID_ARGUMENT)
    assert set(violation_fields(err)) == {"first_name", "email", "salary", "hire_date", "department_id"}


@pytest.mark.parametrize("variant", ["same", "upper", "padded"])
async def test_create_employee_with_a_taken_email_is_already_exists(
    stub: Stub, db: asyncpg.Connection, variant: str
) -> None:
    first = await create_employee(stub, email=email("dup"), social_security_number=SSN, bank_account_number=IBAN)
    taken = {"same": first.email, "upper": first.email.upper(), "padded": f" {first.email.title()} "}[variant]
    req = employee_request(email=taken, social_security_number=SSN, bank_account_number=IBAN)
    err = await rejected(db, lambda: stub.CreateEmployee(req), Code.ALREADY_EXISTS)
    assert "e-mail" in err.details()
    for secret in (SSN, IBAN, first.email):
        assert secret not in err.details()
        assert all(secret not in str(v) for _, v in (err.trailing_metadata() or ()))


async def test_concurrent_creates_with_one_email_let_exactly_one_win(stub: Stub, db: asyncpg.Connection) -> None:
    address = email("race")
    before = await counts(db)
    results = await asyncio.gather(
        *(stub.CreateEmployee(employee_request(email=address, social_security_number=SSN)) for _ in range(5)),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, api.CreateEmployeeResponse)]
    losers = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(winners) == 1, results
    assert len(losers) == 4
    assert {e.code() for e in losers} == {Code.ALREADY_EXISTS}, [e.details() for e in losers]
    assert all(SSN not in e.details() for e in losers)
    after = await counts(db)
    assert {k: after[k] - before[k] for k in after} == {
        "employees": 1,
        "departments": 0,
        "employee_history": 1,
        "event_store": 1,
        "outbox": 1,
    }


# =================================================================================================
# UpdateEmployee
# =================================================================================================


async def test_update_employee_applies_the_mask_bumps_version_and_audits(stub: Stub, db: asyncpg.Connection) -> None:
    e = await create_employee(stub, social_security_number=SSN, bank_account_number=IBAN, phone_number="111")
    req = update_request(
        e,
        ["job_title", "salary", "social_security_number"],
        version=1,
        job_title="Principal Engineer",
        salary=dec("65000.50"),
        social_security_number="987-65-4321",
        first_name="Ignored",  # not in the mask
        email="ignored@example.com",
        phone_number="",
    )
    updated = (await stub.UpdateEmployee(req, metadata=CALLER)).employee
    assert updated.version == 2
    assert updated.job_title == "Principal Engineer"
    assert updated.salary.value == "65000.50"
    assert updated.first_name == e.first_name and updated.email == e.email and updated.phone_number == "111"
    assert updated.social_security_number == "****4321"  # basic view: masked
    assert updated.update_time.ToDatetime() > e.update_time.ToDatetime()
    got = await get_employee(stub, e.id, sensitive=True)
    assert got.social_security_number == "987-65-4321" and got.bank_account_number == IBAN
    assert got.version == 2

    history = await history_rows(db, e.id)
    assert [h["change_type"] for h in history] == ["created", "updated"]
    assert history[1]["changed_fields"] == {
        "job_title": {"old": "Engineer", "new": "Principal Engineer"},
        "salary": {"old": "50000.00", "new": "65000.50"},
        "social_security_number": {"old": "****", "new": "****"},
    }
    assert str(history[1]["changed_by"]) == USER_ID

    # The raw values are nowhere in the audit trail or the event store (SQL on the JSON text).
    key = uuid.UUID(e.id)
    for secret in (SSN, "987-65-4321", IBAN):
        pattern = f"%{secret}%"
        assert (
            await db.fetchval(
                "SELECT count(*) FROM employee_history WHERE employee_id = $1 AND changed_fields::text LIKE $2",
                key,
                pattern,
            )
            == 0
        )
        assert (
            await db.fetchval(
                "SELECT count(*) FROM event_store WHERE aggregate_id = $1 AND event_data::text LIKE $2", key, pattern
            )
            == 0
        )


async def test_update_employee_event_carries_only_the_changed_fields(stub: Stub, db: asyncpg.Connection) -> None:
    e = await create_employee(stub, social_security_number=SSN)
    req = update_request(
        e,
        ["job_title", "salary", "social_security_number", "last_name"],
        version=e.version,
        job_title="Staff Engineer",
        salary=dec("70000.00"),
        social_security_number="111-22-3333",
        last_name=e.last_name,  # unchanged: not reported
    )
    async with records_one_event(db, e.id, EMPLOYEE_UPDATED) as event:
        await stub.UpdateEmployee(req)
    msg = event.message
    assert isinstance(msg, ev.EmployeeUpdated)
    assert msg.employee_id == e.id
    assert list(msg.changed_fields) == ["job_title", "salary", "social_security_number"]
    assert msg.job_title == "Staff Engineer" and msg.salary.value == "70000.00"
    assert msg.version == 2
    for absent in (
        "first_name",
        "last_name",
        "email",
        "hire_date",
        "status",
        "department_id",
        "department_name",
        "phone_number",
    ):
        assert not msg.HasField(absent), absent
    assert event.store["event_version"] == 2
    assert "111-22-3333" not in event.store["event_data"]
    assert b"111-22-3333" not in event.outbox["payload"]


async def test_update_employee_department_change_names_the_department(stub: Stub, db: asyncpg.Connection) -> None:
    old = await create_department(stub)
    new = await create_department(stub, name=f"Platform {tag()}")
    e = await create_employee(stub, department_id=old.id)
    async with records_one_event(db, e.id, EMPLOYEE_UPDATED) as event:
        updated = (
            await stub.UpdateEmployee(update_request(e, ["department_id"], version=1, department_id=new.id))
        ).employee
    assert updated.department_id == new.id
    assert list(event.message.changed_fields) == ["department_id"]
    assert event.message.department_id == new.id
    assert event.message.department_name == new.name

    # Clearing the department (empty value under the mask) is a change too.
    async with records_one_event(db, e.id, EMPLOYEE_UPDATED) as event:
        cleared = (await stub.UpdateEmployee(update_request(e, ["department_id"], version=2))).employee
    assert cleared.department_id == "" and cleared.version == 3
    assert event.message.HasField("department_id") and event.message.department_id == ""


async def test_update_employee_with_no_actual_change_writes_nothing(stub: Stub, db: asyncpg.Connection) -> None:
    e = await create_employee(stub)
    req = update_request(e, ["job_title", "salary"], version=1, job_title=e.job_title, salary=dec("50000"))
    async with nothing_written(db, employees=(e.id,)):
        same = (await stub.UpdateEmployee(req)).employee
    assert same.version == 1


UPDATE_REJECTIONS: list[tuple[str, list[str], dict[str, Any], str]] = [
    ("unknown mask path", ["nickname"], {}, "update_mask"),
    ("status is not updatable", ["status"], {"status": pb.EMPLOYEE_STATUS_TERMINATED}, "update_mask"),
    ("version is not updatable", ["version"], {}, "update_mask"),
    ("id is not updatable", ["id"], {}, "update_mask"),
    ("one unknown path among good ones", ["job_title", "salary_band"], {"job_title": "X"}, "update_mask"),
    ("empty mask", [], {"job_title": "X"}, "update_mask"),
    ("missing first_name", ["first_name"], {"first_name": ""}, "first_name"),
    ("blank last_name", ["last_name"], {"last_name": "  "}, "last_name"),
    ("bad email", ["email"], {"email": "nope@"}, "email"),
    ("salary 0", ["salary"], {"salary": dec("0")}, "salary"),
    ("negative salary", ["salary"], {"salary": dec("-1.00")}, "salary"),
    ("salary with 3 decimals", ["salary"], {"salary": dec("60000.001")}, "salary"),
    ("salary missing", ["salary"], {}, "salary"),
    ("Feb 30", ["hire_date"], {"hire_date": day(2024, 2, 30)}, "hire_date"),
    ("hire_date missing", ["hire_date"], {}, "hire_date"),
    ("bad department uuid", ["department_id"], {"department_id": "x"}, "department_id"),
    ("unknown department", ["department_id"], {"department_id": str(uuid.uuid4())}, "department_id"),
    (
        "long social_security_number",
        ["social_security_number"],
        {"social_security_number": "9" * 21},
        "social_security_number",
    ),
]


@pytest.mark.parametrize(
    ("paths", "fields", "field"), [c[1:] for c in UPDATE_REJECTIONS], ids=[c[0] for c in UPDATE_REJECTIONS]
)
async def test_update_employee_rejects_a_bad_argument(
    stub: Stub, db: asyncpg.Connection, paths: list[str], fields: dict[str, Any], field: str
) -> None:
    e = await create_employee(stub, social_security_number=SSN)
    req = update_request(e, paths, version=1, **fields)
    err = await rejected(
        db, lambda: stub.UpdateEmployee(req), Code.INVALID_ARGUMENT, fields=(field,), employees=(e.id,)
    )
    assert SSN not in err.details()


@pytest.mark.parametrize("bad_id", ["", "not-a-uuid"])
async def test_update_employee_rejects_a_bad_id(stub: Stub, db: asyncpg.Connection, bad_id: str) -> None:
    req = update_request(bad_id, ["job_title"], job_title="X")
    err = await rejected(db, lambda: stub.UpdateEmployee(req), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["employee.id"]


async def test_update_unknown_employee_is_not_found(stub: Stub, db: asyncpg.Connection) -> None:
    req = update_request(str(uuid.uuid4()), ["job_title"], job_title="X")
    await rejected(db, lambda: stub.UpdateEmployee(req), Code.NOT_FOUND)


@pytest.mark.parametrize("upper", [False, True])
async def test_update_employee_to_a_taken_email_is_already_exists(
    stub: Stub, db: asyncpg.Connection, upper: bool
) -> None:
    other = await create_employee(stub)
    e = await create_employee(stub, social_security_number=SSN)
    taken = other.email.upper() if upper else other.email
    new_ssn = "555-44-3333"
    req = update_request(e, ["email", "social_security_number"], version=1, email=taken, social_security_number=new_ssn)
    err = await rejected(db, lambda: stub.UpdateEmployee(req), Code.ALREADY_EXISTS, employees=(e.id, other.id))
    assert SSN not in err.details() and new_ssn not in err.details() and other.email not in err.details()
    # Its own e-mail (in another case) is not "taken".
    own = (await stub.UpdateEmployee(update_request(e, ["email"], version=1, email=e.email.upper()))).employee
    assert own.email == e.email and own.version == 1


async def test_update_employee_with_a_stale_version_is_aborted(stub: Stub, db: asyncpg.Connection) -> None:
    e = await create_employee(stub)
    await stub.UpdateEmployee(update_request(e, ["job_title"], version=1, job_title="Lead"))
    for stale in (1, 3, 99):
        req = update_request(e, ["job_title"], version=stale, job_title="Stale")
        err = await rejected(db, lambda req=req: stub.UpdateEmployee(req), Code.ABORTED, employees=(e.id,))
        assert "version 2" in err.details()
    assert (await get_employee(stub, e.id)).job_title == "Lead"


async def test_update_terminated_employee_is_a_failed_precondition(stub: Stub, db: asyncpg.Connection) -> None:
    e = await terminate(stub, await create_employee(stub))
    req = update_request(e, ["job_title"], version=e.version, job_title="Ghost")
    await rejected(db, lambda: stub.UpdateEmployee(req), Code.FAILED_PRECONDITION, employees=(e.id,))


async def test_concurrent_updates_with_one_version_let_exactly_one_win(stub: Stub, db: asyncpg.Connection) -> None:
    e = await create_employee(stub)
    before = await counts(db)
    results = await asyncio.gather(
        stub.UpdateEmployee(update_request(e, ["job_title"], version=1, job_title="Left")),
        stub.UpdateEmployee(update_request(e, ["job_title"], version=1, job_title="Right")),
        return_exceptions=True,
    )
    winners = [r for r in results if isinstance(r, api.UpdateEmployeeResponse)]
    losers = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert losers[0].code() == Code.ABORTED, losers[0].details()
    final = await get_employee(stub, e.id)
    assert final.version == 2
    assert final.job_title == winners[0].employee.job_title
    after = await counts(db)
    assert after["employee_history"] - before["employee_history"] == 1
    assert after["event_store"] - before["event_store"] == 1
    assert after["outbox"] - before["outbox"] == 1
    assert [r["event_type"] for r in await event_store_rows(db, e.id)] == [EMPLOYEE_CREATED, EMPLOYEE_UPDATED]


# =================================================================================================
# TerminateEmployee, RehireEmployee, StartLeave, EndLeave
# =================================================================================================


async def test_terminate_employee(stub: Stub, db: asyncpg.Connection) -> None:
    e = await create_employee(stub, hire_date=day(2020, 1, 15))
    async with records_one_event(db, e.id, EMPLOYEE_TERMINATED) as event:
        t = await terminate(stub, e, day(2020, 1, 15))  # the hire date itself is allowed
    assert t.status == pb.EMPLOYEE_STATUS_TERMINATED
    assert (t.termination_date.year, t.termination_date.month, t.termination_date.day) == (2020, 1, 15)
    assert t.version == 2
    assert event.message.employee_id == e.id and event.message.version == 2
    assert event.message.termination_date.day == 15
    assert event.store["event_version"] == 2
    history = await history_rows(db, e.id)
    assert history[-1]["change_type"] == "terminated"
    assert history[-1]["changed_fields"] == {
        "status": {"old": "active", "new": "terminated"},
        "termination_date": {"old": None, "new": "2020-01-15"},
        "reason": {"old": None, "new": "restructuring"},
    }
    row = await employee_row(db, e.id)
    assert row is not None and row["status"] == "terminated"


async def test_terminate_an_employee_on_leave(stub: Stub) -> None:
    e = await create_employee(stub)
    e = (await stub.StartLeave(api.StartLeaveRequest(id=e.id, version=e.version))).employee
    t = await terminate(stub, e)
    assert t.status == pb.EMPLOYEE_STATUS_TERMINATED and t.version == 3


async def test_terminating_twice_is_a_failed_precondition(stub: Stub, db: asyncpg.Connection) -> None:
    e = await terminate(stub, await create_employee(stub))
    for version in (e.version, 0):
        req = api.TerminateEmployeeRequest(id=e.id, termination_date=day(2024, 1, 1), version=version)
        await rejected(db, lambda req=req: stub.TerminateEmployee(req), Code.FAILED_PRECONDITION, employees=(e.id,))


async def test_terminate_with_a_stale_version_is_aborted(stub: Stub, db: asyncpg.Connection) -> None:
    e = await create_employee(stub)
    await stub.UpdateEmployee(update_request(e, ["job_title"], version=1, job_title="Lead"))
    req = api.TerminateEmployeeRequest(id=e.id, termination_date=day(2024, 1, 1), version=1)
    await rejected(db, lambda: stub.TerminateEmployee(req), Code.ABORTED, employees=(e.id,))


async def test_terminate_before_the_hire_date_is_invalid_argument(stub: Stub, db: asyncpg.Connection) -> None:
    e = await create_employee(stub, hire_date=day(2020, 1, 15))
    req = api.TerminateEmployeeRequest(id=e.id, termination_date=day(2020, 1, 14), version=1)
    await rejected(
        db, lambda: stub.TerminateEmployee(req), Code.INVALID_ARGUMENT, fields=("termination_date",), employees=(e.id,)
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"termination_date": None}, "termination_date"),
        ({"termination_date": day(2023, 2, 30)}, "termination_date"),
        ({"id": "nope"}, "id"),
    ],
)
async def test_terminate_rejects_bad_arguments(
    stub: Stub, db: asyncpg.Connection, overrides: dict[str, Any], field: str
) -> None:
    e = await create_employee(stub)
    req = api.TerminateEmployeeRequest(id=e.id, termination_date=day(2024, 1, 1), version=1)
    for name, value in overrides.items():
        if value is None:
            req.ClearField(name)
        elif isinstance(value, str):
            setattr(req, name, value)
        else:
            getattr(req, name).CopyFrom(value)
    await rejected(db, lambda: stub.TerminateEmployee(req), Code.INVALID_ARGUMENT, fields=(field,), employees=(e.id,))


async def test_terminate_unknown_employee_is_not_found(stub: Stub, db: asyncpg.Connection) -> None:
    req = api.TerminateEmployeeRequest(id=str(uuid.uuid4()), termination_date=day(2024, 1, 1))
    await rejected(db, lambda: stub.TerminateEmployee(req), Code.NOT_FOUND)


async def test_rehire_employee_with_new_salary_and_department(stub: Stub, db: asyncpg.Connection) -> None:
    old = await create_department(stub)
    new = await create_department(stub, name=f"Comeback {tag()}")
    e = await terminate(stub, await create_employee(stub, department_id=old.id), day(2023, 6, 30))
    req = api.RehireEmployeeRequest(
        id=e.id, hire_date=day(2023, 7, 1), salary=dec("61000.00"), department_id=new.id, version=e.version
    )
    async with records_one_event(db, e.id, EMPLOYEE_REHIRED) as event:
        r = (await stub.RehireEmployee(req, metadata=CALLER)).employee
    assert r.status == pb.EMPLOYEE_STATUS_ACTIVE
    assert not r.HasField("termination_date")
    assert (r.hire_date.year, r.hire_date.month, r.hire_date.day) == (2023, 7, 1)
    assert r.salary.value == "61000.00" and r.department_id == new.id and r.version == 3
    msg = event.message
    assert (msg.employee_id, msg.department_id, msg.department_name) == (e.id, new.id, new.name)
    assert msg.salary.value == "61000.00" and msg.version == 3 and msg.hire_date.month == 7
    history = await history_rows(db, e.id)
    assert [h["change_type"] for h in history] == ["created", "terminated", "rehired"]
    assert history[-1]["changed_fields"] == {
        "status": {"old": "terminated", "new": "active"},
        "hire_date": {"old": "2020-01-15", "new": "2023-07-01"},
        "termination_date": {"old": "2023-06-30", "new": None},
        "salary": {"old": "50000.00", "new": "61000.00"},
        "department_id": {"old": old.id, "new": new.id},
    }
    # Active again: it can be changed and terminated again.
    again = await terminate(stub, r, day(2024, 1, 31))
    assert again.version == 4


async def test_rehire_keeps_salary_and_department_when_unset(stub: Stub, db: asyncpg.Connection) -> None:
    d = await create_department(stub)
    e = await terminate(stub, await create_employee(stub, department_id=d.id, salary=dec("42000.42")))
    async with records_one_event(db, e.id, EMPLOYEE_REHIRED) as event:
        r = (await stub.RehireEmployee(api.RehireEmployeeRequest(id=e.id, hire_date=day(2024, 1, 1)))).employee
    assert r.salary.value == "42000.42" and r.department_id == d.id
    assert event.message.department_name == d.name and event.message.salary.value == "42000.42"


async def test_rehiring_an_active_employee_is_a_failed_precondition(stub: Stub, db: asyncpg.Connection) -> None:
    e = await create_employee(stub)
    req = api.RehireEmployeeRequest(id=e.id, hire_date=day(2024, 1, 1), version=1)
    await rejected(db, lambda: stub.RehireEmployee(req), Code.FAILED_PRECONDITION, employees=(e.id,))


@pytest.mark.parametrize("hire", [day(2023, 6, 30), day(2023, 6, 29), day(2019, 1, 1)])
async def test_rehire_not_after_the_termination_date_is_invalid_argument(
    stub: Stub, db: asyncpg.Connection, hire: Any
) -> None:
    e = await terminate(stub, await create_employee(stub), day(2023, 6, 30))
    req = api.RehireEmployeeRequest(id=e.id, hire_date=hire, version=e.version)
    await rejected(
        db, lambda: stub.RehireEmployee(req), Code.INVALID_ARGUMENT, fields=("hire_date",), employees=(e.id,)
    )


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"version": 1}, Code.ABORTED, None),
        ({"salary": dec("0")}, Code.INVALID_ARGUMENT, "salary"),
        ({"salary": dec("1.001")}, Code.INVALID_ARGUMENT, "salary"),
        ({"hire_date": None}, Code.INVALID_ARGUMENT, "hire_date"),
        ({"department_id": str(uuid.uuid4())}, Code.INVALID_ARGUMENT, "department_id"),
        ({"department_id": "nope"}, Code.INVALID_ARGUMENT, "department_id"),
        ({"id": str(uuid.uuid4())}, Code.NOT_FOUND, None),
    ],
)
async def test_rehire_rejections(
    stub: Stub, db: asyncpg.Connection, overrides: dict[str, Any], code: grpc.StatusCode, field: str | None
) -> None:
    e = await terminate(stub, await create_employee(stub), day(2023, 6, 30))
    req = api.RehireEmployeeRequest(id=e.id, hire_date=day(2024, 1, 1), version=e.version)
    for name, value in overrides.items():
        if value is None:
            req.ClearField(name)
        elif isinstance(value, (str, int)):
            setattr(req, name, value)
        else:
            getattr(req, name).CopyFrom(value)
    await rejected(db, lambda: stub.RehireEmployee(req), code, fields=(field,) if field else (), employees=(e.id,))


async def test_start_and_end_leave(stub: Stub, db: asyncpg.Connection) -> None:
    e = await create_employee(stub)
    async with records_one_event(db, e.id, EMPLOYEE_UPDATED) as event:
        on_leave = (await stub.StartLeave(api.StartLeaveRequest(id=e.id, version=1))).employee
    assert on_leave.status == pb.EMPLOYEE_STATUS_ON_LEAVE and on_leave.version == 2
    assert list(event.message.changed_fields) == ["status"]
    assert event.message.status == pb.EMPLOYEE_STATUS_ON_LEAVE and event.message.version == 2
    assert not event.message.HasField("job_title")

    # An employee on leave can still be edited.
    edited = (await stub.UpdateEmployee(update_request(e, ["job_title"], version=2, job_title="Away"))).employee
    assert edited.status == pb.EMPLOYEE_STATUS_ON_LEAVE and edited.version == 3

    async with records_one_event(db, e.id, EMPLOYEE_UPDATED) as event:
        back = (await stub.EndLeave(api.EndLeaveRequest(id=e.id, version=3))).employee
    assert back.status == pb.EMPLOYEE_STATUS_ACTIVE and back.version == 4
    assert event.message.status == pb.EMPLOYEE_STATUS_ACTIVE and list(event.message.changed_fields) == ["status"]
    history = await history_rows(db, e.id)
    assert [h["changed_fields"].get("status") for h in history[1:]] == [
        {"old": "active", "new": "on_leave"},
        None,
        {"old": "on_leave", "new": "active"},
    ]


async def test_leave_transitions_from_the_wrong_status_are_failed_preconditions(
    stub: Stub, db: asyncpg.Connection
) -> None:
    active = await create_employee(stub)
    await rejected(
        db, lambda: stub.EndLeave(api.EndLeaveRequest(id=active.id)), Code.FAILED_PRECONDITION, employees=(active.id,)
    )
    away = (await stub.StartLeave(api.StartLeaveRequest(id=(await create_employee(stub)).id))).employee
    await rejected(
        db, lambda: stub.StartLeave(api.StartLeaveRequest(id=away.id)), Code.FAILED_PRECONDITION, employees=(away.id,)
    )
    gone = await terminate(stub, await create_employee(stub))
    for call in (
        lambda: stub.StartLeave(api.StartLeaveRequest(id=gone.id)),
        lambda: stub.EndLeave(api.EndLeaveRequest(id=gone.id)),
    ):
        await rejected(db, call, Code.FAILED_PRECONDITION, employees=(gone.id,))


async def test_leave_with_a_stale_version_or_unknown_id(stub: Stub, db: asyncpg.Connection) -> None:
    e = await create_employee(stub)
    await rejected(
        db, lambda: stub.StartLeave(api.StartLeaveRequest(id=e.id, version=2)), Code.ABORTED, employees=(e.id,)
    )
    await rejected(db, lambda: stub.StartLeave(api.StartLeaveRequest(id=str(uuid.uuid4()))), Code.NOT_FOUND)
    await rejected(db, lambda: stub.EndLeave(api.EndLeaveRequest(id="x")), Code.INVALID_ARGUMENT, fields=("id",))


# =================================================================================================
# ListEmployeeHistory
# =================================================================================================


async def test_list_employee_history_is_newest_first_and_paginated(stub: Stub) -> None:
    e = await create_employee(stub)
    v = 1
    for title in ("Senior", "Staff", "Principal"):
        v = (await stub.UpdateEmployee(update_request(e, ["job_title"], version=v, job_title=title))).employee.version
    v = (await stub.StartLeave(api.StartLeaveRequest(id=e.id, version=v))).employee.version
    v = (await stub.EndLeave(api.EndLeaveRequest(id=e.id, version=v))).employee.version
    await terminate(stub, pb.Employee(id=e.id, version=v))

    everything = (await stub.ListEmployeeHistory(api.ListEmployeeHistoryRequest(employee_id=e.id))).entries
    assert len(everything) == 7
    assert [x.change_type for x in everything] == ["terminated"] + ["updated"] * 5 + ["created"]
    times = [x.changed_at.ToDatetime() for x in everything]
    assert times == sorted(times, reverse=True)
    titles = [json.loads(x.changed_fields_json).get("job_title", {}).get("new") for x in everything[3:6]]
    assert titles == ["Principal", "Staff", "Senior"]
    assert all(x.employee_id == e.id for x in everything)
    assert everything[-1].changed_by == USER_ID

    paged: list[str] = []
    page_token, pages = "", 0
    while True:
        resp = await stub.ListEmployeeHistory(
            api.ListEmployeeHistoryRequest(employee_id=e.id, page_size=2, page_token=page_token)
        )
        pages += 1
        paged.extend(x.id for x in resp.entries)
        page_token = resp.next_page_token
        if not page_token:
            break
        assert pages < 10
    assert pages == 4
    assert paged == [x.id for x in everything]


async def test_list_employee_history_rejections(stub: Stub) -> None:
    a = await create_employee(stub)
    await stub.UpdateEmployee(update_request(a, ["job_title"], job_title="Other"))
    b = await create_employee(stub)
    first = await stub.ListEmployeeHistory(api.ListEmployeeHistoryRequest(employee_id=a.id, page_size=1))
    assert first.next_page_token

    await rpc_error(
        stub.ListEmployeeHistory(api.ListEmployeeHistoryRequest(employee_id=str(uuid.uuid4()))), Code.NOT_FOUND
    )
    for bad in ("", "nope"):
        err = await rpc_error(
            stub.ListEmployeeHistory(api.ListEmployeeHistoryRequest(employee_id=bad)), Code.INVALID_ARGUMENT
        )
        assert violation_fields(err) == ["employee_id"]
    for req in (
        api.ListEmployeeHistoryRequest(employee_id=a.id, page_token="%%%"),
        api.ListEmployeeHistoryRequest(employee_id=b.id, page_token=first.next_page_token),  # another employee's
    ):
        err = await rpc_error(stub.ListEmployeeHistory(req), Code.INVALID_ARGUMENT)
        assert violation_fields(err) == ["page_token"]
    err = await rpc_error(
        stub.ListEmployeeHistory(api.ListEmployeeHistoryRequest(employee_id=a.id, page_size=-5)), Code.INVALID_ARGUMENT
    )
    assert violation_fields(err) == ["page_size"]


# =================================================================================================
# Departments
# =================================================================================================


async def test_get_department(stub: Stub) -> None:
    d = await create_department(stub, budget_code="")
    got = (await stub.GetDepartment(api.GetDepartmentRequest(id=d.id))).department
    assert got == d
    assert got.manager_id == "" and got.budget_code == ""
    await rpc_error(stub.GetDepartment(api.GetDepartmentRequest(id=str(uuid.uuid4()))), Code.NOT_FOUND)
    err = await rpc_error(stub.GetDepartment(api.GetDepartmentRequest(id="eng")), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["id"]


async def test_batch_get_departments(stub: Stub) -> None:
    a = await create_department(stub)
    b = await create_department(stub)
    resp = await stub.BatchGetDepartments(api.BatchGetDepartmentsRequest(ids=[b.id, a.id, b.id, str(uuid.uuid4())]))
    assert sorted(d.id for d in resp.departments) == sorted([a.id, b.id])
    assert list((await stub.BatchGetDepartments(api.BatchGetDepartmentsRequest())).departments) == []
    err = await rpc_error(stub.BatchGetDepartments(api.BatchGetDepartmentsRequest(ids=["x"])), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["ids"]


async def test_list_departments_filters_and_pages(stub: Stub) -> None:
    name = f"Shared {tag()}"
    made = [await create_department(stub, name=name, code=f"L{tag()}") for _ in range(5)]
    expected = [d.id for d in sorted(made, key=lambda d: d.code)]
    seen: list[str] = []
    page_token = ""
    for _ in range(3):
        resp = await stub.ListDepartments(api.ListDepartmentsRequest(names=[name], page_size=2, page_token=page_token))
        assert resp.total_size == 5
        seen.extend(d.id for d in resp.departments)
        page_token = resp.next_page_token
    assert page_token == ""
    assert seen == expected

    manager = await create_employee(stub)
    managed = await create_department(stub, manager_id=manager.id)
    resp = await stub.ListDepartments(api.ListDepartmentsRequest(manager_ids=[manager.id]))
    assert [d.id for d in resp.departments] == [managed.id] and resp.total_size == 1
    assert list((await stub.ListDepartments(api.ListDepartmentsRequest(names=[f"none {tag()}"]))).departments) == []

    first = await stub.ListDepartments(api.ListDepartmentsRequest(names=[name], page_size=2))
    err = await rpc_error(
        stub.ListDepartments(api.ListDepartmentsRequest(names=["other"], page_token=first.next_page_token)),
        Code.INVALID_ARGUMENT,
    )
    assert violation_fields(err) == ["page_token"]
    err = await rpc_error(stub.ListDepartments(api.ListDepartmentsRequest(manager_ids=["m"])), Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["manager_ids"]


async def test_create_department_with_a_manager(stub: Stub, db: asyncpg.Connection) -> None:
    manager = await create_employee(stub)
    code = f"ENG{tag()}"[:20]
    async with records_one_event(db, None, DEPARTMENT_CREATED) as event:
        d = await create_department(stub, name=" Engineering ", code=f" {code} ", manager_id=manager.id)
    assert (d.name, d.code, d.manager_id, d.budget_code) == ("Engineering", code, manager.id, "BC-1")
    assert uuid.UUID(d.id) and d.create_time.seconds > 0
    msg = event.message
    assert isinstance(msg, ev.DepartmentCreated)
    assert (msg.department_id, msg.name, msg.code, msg.manager_id, msg.budget_code) == (
        d.id,
        "Engineering",
        code,
        manager.id,
        "BC-1",
    )
    assert event.store["aggregate_type"] == "Department"
    assert str(event.store["aggregate_id"]) == d.id
    assert event.store["event_version"] == 1
    assert (await stub.GetDepartment(api.GetDepartmentRequest(id=d.id))).department == d


DEPARTMENT_REJECTIONS: list[tuple[str, dict[str, Any], str]] = [
    ("missing name", {"name": ""}, "name"),
    ("blank name", {"name": "  "}, "name"),
    ("long name", {"name": "n" * 101}, "name"),
    ("missing code", {"code": ""}, "code"),
    ("long code", {"code": "C" * 21}, "code"),
    ("long budget_code", {"budget_code": "B" * 51}, "budget_code"),
    ("bad manager uuid", {"manager_id": "boss"}, "manager_id"),
    ("unknown manager", {"manager_id": str(uuid.uuid4())}, "manager_id"),
]


@pytest.mark.parametrize(
    ("overrides", "field"), [c[1:] for c in DEPARTMENT_REJECTIONS], ids=[c[0] for c in DEPARTMENT_REJECTIONS]
)
async def test_create_department_rejects_a_bad_field(
    stub: Stub, db: asyncpg.Connection, overrides: dict[str, Any], field: str
) -> None:
    req = department_request(**overrides)
    await rejected(db, lambda: stub.CreateDepartment(req), Code.INVALID_ARGUMENT, fields=(field,))


async def test_create_department_with_a_taken_code_is_already_exists(stub: Stub, db: asyncpg.Connection) -> None:
    d = await create_department(stub)
    for code in (d.code, f"  {d.code} "):
        req = department_request(code=code)
        err = await rejected(db, lambda req=req: stub.CreateDepartment(req), Code.ALREADY_EXISTS)
        assert "code" in err.details()


async def test_create_department_with_a_terminated_manager_is_a_failed_precondition(
    stub: Stub, db: asyncpg.Connection
) -> None:
    gone = await terminate(stub, await create_employee(stub))
    req = department_request(manager_id=gone.id)
    await rejected(db, lambda: stub.CreateDepartment(req), Code.FAILED_PRECONDITION, employees=(gone.id,))


async def test_update_department_manager_closes_the_employee_department_cycle(
    stub: Stub, db: asyncpg.Connection
) -> None:
    # departments.manager_id -> employees and employees.department_id -> departments.
    d = await create_department(stub)
    first = await create_employee(stub, department_id=d.id)
    second = await create_employee(stub, department_id=d.id)

    async with records_one_event(db, d.id, DEPARTMENT_UPDATED) as event:
        d1 = (await stub.UpdateDepartment(department_update(d.id, ("manager_id",), manager_id=first.id))).department
    assert d1.manager_id == first.id
    assert list(event.message.changed_fields) == ["manager_id"] and event.message.manager_id == first.id
    assert not event.message.HasField("name") and not event.message.HasField("code")
    assert event.store["event_version"] == 2  # DepartmentCreated was 1

    async with records_one_event(db, d.id, DEPARTMENT_UPDATED) as event:
        d2 = (
            await stub.UpdateDepartment(
                department_update(d.id, ("manager_id", "name"), manager_id=second.id, name=d.name, code="ignored")
            )
        ).department
    assert d2.manager_id == second.id and d2.code == d.code and d2.name == d.name
    assert list(event.message.changed_fields) == ["manager_id"]
    assert event.store["event_version"] == 3
    assert (await stub.GetDepartment(api.GetDepartmentRequest(id=d.id))).department.manager_id == second.id
    assert (await get_employee(stub, second.id)).department_id == d.id
    got = await stub.ListDepartments(api.ListDepartmentsRequest(manager_ids=[first.id, second.id]))
    assert [x.id for x in got.departments] == [d.id]

    # Clearing the manager.
    async with records_one_event(db, d.id, DEPARTMENT_UPDATED) as event:
        d3 = (await stub.UpdateDepartment(department_update(d.id, ("manager_id",)))).department
    assert d3.manager_id == "" and event.message.HasField("manager_id") and event.message.manager_id == ""


async def test_update_department_name_code_and_budget(stub: Stub, db: asyncpg.Connection) -> None:
    d = await create_department(stub)
    new_code = f"N{tag()}"
    async with records_one_event(db, d.id, DEPARTMENT_UPDATED) as event:
        u = (
            await stub.UpdateDepartment(
                department_update(d.id, ("name", "code", "budget_code"), name="Renamed", code=new_code, budget_code="")
            )
        ).department
    assert (u.name, u.code, u.budget_code) == ("Renamed", new_code, "")
    assert list(event.message.changed_fields) == ["budget_code", "code", "name"]
    assert (event.message.name, event.message.code, event.message.budget_code) == ("Renamed", new_code, "")
    async with nothing_written(db, departments=(d.id,)):
        same = (await stub.UpdateDepartment(department_update(d.id, ("name",), name="Renamed"))).department
    assert same == u


async def test_update_department_rejections(stub: Stub, db: asyncpg.Connection) -> None:
    d = await create_department(stub)
    other = await create_department(stub)
    gone = await terminate(stub, await create_employee(stub))
    cases: list[tuple[api.UpdateDepartmentRequest, grpc.StatusCode, str | None]] = [
        (department_update(d.id, ()), Code.INVALID_ARGUMENT, "update_mask"),
        (department_update(d.id, ("floor",)), Code.INVALID_ARGUMENT, "update_mask"),
        (department_update(d.id, ("id",)), Code.INVALID_ARGUMENT, "update_mask"),
        (department_update(d.id, ("name",), name=""), Code.INVALID_ARGUMENT, "name"),
        (department_update(d.id, ("code",), code=" "), Code.INVALID_ARGUMENT, "code"),
        (department_update(d.id, ("manager_id",), manager_id="m"), Code.INVALID_ARGUMENT, "manager_id"),
        (department_update(d.id, ("manager_id",), manager_id=str(uuid.uuid4())), Code.INVALID_ARGUMENT, "manager_id"),
        (department_update("x", ("name",), name="N"), Code.INVALID_ARGUMENT, "id"),
        (department_update(str(uuid.uuid4()), ("name",), name="N"), Code.NOT_FOUND, None),
        (department_update(d.id, ("code",), code=other.code), Code.ALREADY_EXISTS, None),
        (department_update(d.id, ("manager_id",), manager_id=gone.id), Code.FAILED_PRECONDITION, None),
    ]
    for req, code, field in cases:
        await rejected(
            db,
            lambda req=req: stub.UpdateDepartment(req),
            code,
            fields=(field,) if field else (),
            departments=(d.id, other.id),
        )


# =================================================================================================
# Sensitive values
# =================================================================================================


async def test_sensitive_values_never_leave_the_employees_table(stub: Stub, db: asyncpg.Connection) -> None:
    e = await create_employee(stub, social_security_number=SSN, bank_account_number=IBAN)
    messages: list[str] = []

    async def provoke(call: Any, code: grpc.StatusCode) -> None:
        err = await rejected(db, call, code, employees=(e.id,))
        messages.append(err.details() or "")
        messages.extend(str(v) for _, v in (err.trailing_metadata() or ()))

    dup = employee_request(email=e.email.upper(), social_security_number=SSN, bank_account_number=IBAN)
    await provoke(lambda: stub.CreateEmployee(dup), Code.ALREADY_EXISTS)
    bad = employee_request(email="nope", salary=dec("-1"), social_security_number=SSN, bank_account_number=IBAN)
    await provoke(lambda: stub.CreateEmployee(bad), Code.INVALID_ARGUMENT)
    too_long = update_request(e, ["social_security_number"], version=1, social_security_number=SSN * 3)
    await provoke(lambda: stub.UpdateEmployee(too_long), Code.INVALID_ARGUMENT)
    stale = update_request(e, ["bank_account_number"], version=7, bank_account_number=IBAN[::-1])
    await provoke(lambda: stub.UpdateEmployee(stale), Code.ABORTED)
    other = await create_employee(stub)
    taken = update_request(
        e, ["email", "social_security_number"], version=1, email=other.email, social_security_number=SSN
    )
    await provoke(lambda: stub.UpdateEmployee(taken), Code.ALREADY_EXISTS)
    for text in messages:
        assert SSN not in text and IBAN not in text, text

    # Changes of the sensitive fields are audited and announced, but only by name.
    changed = (
        await stub.UpdateEmployee(
            update_request(
                e,
                ["social_security_number", "bank_account_number"],
                version=1,
                social_security_number="000-00-0000",
                bank_account_number="",
            )
        )
    ).employee
    assert changed.version == 2
    await terminate(stub, changed)

    history = await history_rows(db, e.id)
    assert history[1]["changed_fields"] == {
        "social_security_number": {"old": "****", "new": "****"},
        "bank_account_number": {"old": "****", "new": None},
    }
    store = await event_store_rows(db, e.id)
    outbox = await outbox_rows(db, e.id)
    assert [r["event_type"] for r in store] == [EMPLOYEE_CREATED, EMPLOYEE_UPDATED, EMPLOYEE_TERMINATED]
    assert [r["event_type"] for r in outbox] == [r["event_type"] for r in store]
    updated = ev.EmployeeUpdated.FromString(outbox[1]["payload"])
    assert list(updated.changed_fields) == ["bank_account_number", "social_security_number"]
    for secret in (SSN, IBAN, "000-00-0000"):
        for r in store:
            assert secret not in r["event_data"]
        for r in outbox:
            assert secret.encode() not in r["payload"]
            assert secret not in r["headers"]
        for h in history:
            assert secret not in json.dumps(h["changed_fields"])


# =================================================================================================
# Regressions: each test below once exposed a defect in services/ (now fixed)
# =================================================================================================


@pytest.mark.parametrize("rpc", ["create", "update", "rehire"])
async def test_bug_huge_salary_is_invalid_argument(stub: Stub, db: asyncpg.Connection, rpc: str) -> None:
    if rpc == "create":
        call = lambda: stub.CreateEmployee(employee_request(salary=dec("1e30")))  # noqa: E731
    elif rpc == "update":
        e = await create_employee(stub)
        call = lambda: stub.UpdateEmployee(update_request(e, ["salary"], salary=dec("1e30")))  # noqa: E731
    else:
        e = await terminate(stub, await create_employee(stub), day(2023, 1, 1))
        req = api.RehireEmployeeRequest(id=e.id, hire_date=day(2024, 1, 1), salary=dec("1e30"))
        call = lambda: stub.RehireEmployee(req)  # noqa: E731
    await rejected(db, call, Code.INVALID_ARGUMENT, fields=("salary",))


@pytest.mark.parametrize("kind", ["decimal", "uuid-int", "forged-types"])
async def test_bug_malformed_page_token_is_invalid_argument(stub: Stub, kind: str) -> None:
    if kind == "decimal":
        req: Any = api.ListEmployeesRequest(page_token=token({"k": [["n", "abc"]], "f": "0"}))
        call = stub.ListEmployees(req)
    elif kind == "uuid-int":
        call = stub.ListEmployees(api.ListEmployeesRequest(page_token=token({"k": [["u", 5]], "f": "0"})))
    else:
        forged = token({"k": [["s", "A"], ["s", "zz"]], "f": filters_fingerprint(([], []))})
        call = stub.ListDepartments(api.ListDepartmentsRequest(page_token=forged))
    err = await rpc_error(call, Code.INVALID_ARGUMENT)
    assert violation_fields(err) == ["page_token"]


async def test_bug_nul_character_in_a_name_is_invalid_argument(stub: Stub, db: asyncpg.Connection) -> None:
    req = employee_request(first_name="A\x00B")
    await rejected(db, lambda: stub.CreateEmployee(req), Code.INVALID_ARGUMENT, fields=("first_name",))


async def test_bug_internal_error_log_does_not_contain_sensitive_values(
    stub: Stub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="services.runtime.grpc_errors")
    req = employee_request(last_name="Nul\x00", social_security_number=SSN, bank_account_number=IBAN)
    with pytest.raises(grpc.aio.AioRpcError):
        await stub.CreateEmployee(req)
    logged = "\n".join(caplog.text.splitlines() + [r.getMessage() for r in caplog.records])
    assert SSN not in logged and IBAN not in logged


@pytest.mark.parametrize(
    ("rpc", "paths", "fields", "expected"),
    [
        ("employee", ("first_name",), {"first_name": ""}, "employee.first_name"),
        ("employee", ("salary",), {"salary": dec("0")}, "employee.salary"),
        ("employee", ("email",), {"email": "nope"}, "employee.email"),
        ("employee", ("department_id",), {"department_id": str(uuid.uuid4())}, "employee.department_id"),
        ("department", ("manager_id",), {"manager_id": str(uuid.uuid4())}, "department.manager_id"),
    ],
)
async def test_bug_update_violations_name_the_request_field(
    stub: Stub, rpc: str, paths: tuple[str, ...], fields: dict[str, Any], expected: str
) -> None:
    if rpc == "employee":
        e = await create_employee(stub)
        call = stub.UpdateEmployee(update_request(e, paths, **fields))
    else:
        d = await create_department(stub)
        call = stub.UpdateDepartment(department_update(d.id, paths, **fields))
    err = await rpc_error(call, Code.INVALID_ARGUMENT)
    assert violation_fields(err) == [expected]


async def test_bug_list_employees_query_treats_wildcards_literally(stub: Stub) -> None:
    t = tag()
    await create_employee(stub, last_name=f"Wild{t}x")
    for query in (f"wild{t}_", f"wild{t}%"):
        resp = await stub.ListEmployees(api.ListEmployeesRequest(query=query))
        assert list(resp.employees) == [], query
