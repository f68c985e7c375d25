"""Social security and bank account numbers at rest: ciphertext in employee_db, masks in the basic
view, the full value only in the sensitive view, and nothing readable in another row or column."""

from __future__ import annotations

import json
import logging
import re
import uuid
from typing import TYPE_CHECKING, Any

import asyncpg
import grpc
import pytest
from erp.employee.v1 import employee_pb2 as pb
from erp.employee.v1 import employee_service_pb2 as api
from google.protobuf.field_mask_pb2 import FieldMask

from services.employee.pii import binding
from services.runtime.crypto import KeyRing
from tests.employee.helpers import (
    CALLER,
    IBAN,
    SSN,
    create_employee,
    event_store_rows,
    get_employee,
    history_rows,
    outbox_rows,
    rpc_error,
)

if TYPE_CHECKING:
    from erp.employee.v1.employee_service_pb2_grpc import EmployeeServiceAsyncStub as AsyncStub

COLUMNS = ("social_security_number", "bank_account_number")
Code = grpc.StatusCode


def ciphertext_re(key_id: str) -> re.Pattern[str]:
    return re.compile(rf"^v1:{re.escape(key_id)}:[A-Za-z0-9+/]+={{0,2}}$")


async def stored(db: asyncpg.Connection, employee_id: str) -> dict[str, str | None]:
    row = await db.fetchrow(
        "SELECT social_security_number, bank_account_number FROM employees WHERE id = $1", uuid.UUID(employee_id)
    )
    assert row is not None
    return dict(row)


def update(e: pb.Employee | str, paths: list[str], version: int, **fields: Any) -> api.UpdateEmployeeRequest:
    employee_id = e if isinstance(e, str) else e.id
    return api.UpdateEmployeeRequest(
        employee=pb.Employee(id=employee_id, **fields), update_mask=FieldMask(paths=paths), version=version
    )


async def test_raw_sql_shows_ciphertext_with_its_key_id_never_the_value(
    stub: AsyncStub, db: asyncpg.Connection, keyring: KeyRing
) -> None:
    e = await create_employee(stub, social_security_number=SSN, bank_account_number=IBAN)
    row = await stored(db, e.id)
    for column, secret in (("social_security_number", SSN), ("bank_account_number", IBAN)):
        value = row[column]
        assert value is not None and ciphertext_re(keyring.active_key_id).match(value), value
        assert secret not in value
        assert keyring.decrypt(value, binding(uuid.UUID(e.id), column)) == secret  # bound to this row and column
    # The same values for another employee are different ciphertexts (fresh nonce, other row).
    twin = await create_employee(stub, social_security_number=SSN, bank_account_number=IBAN)
    assert set((await stored(db, twin.id)).values()).isdisjoint(row.values())
    # Anywhere in the table: no value is stored in the clear, no row holds a known plaintext.
    plaintext = await db.fetchval(
        "SELECT count(*) FROM employees WHERE (social_security_number IS NOT NULL "
        "AND NOT starts_with(social_security_number, 'v1:')) OR (bank_account_number IS NOT NULL "
        "AND NOT starts_with(bank_account_number, 'v1:'))"
    )
    assert plaintext == 0
    leaked = await db.fetchval(
        "SELECT count(*) FROM employees WHERE employees::text LIKE $1 OR employees::text LIKE $2",
        f"%{SSN}%",
        f"%{IBAN}%",
    )
    assert leaked == 0


async def test_basic_view_masks_the_last_four_and_sensitive_view_shows_all(stub: AsyncStub) -> None:
    e = await create_employee(stub, social_security_number=SSN, bank_account_number=IBAN)
    short = await create_employee(stub, social_security_number="1234", bank_account_number="")
    assert (e.social_security_number, e.bank_account_number) == ("****6789", "****3000")  # create: basic
    for view in (api.EMPLOYEE_VIEW_UNSPECIFIED, api.EMPLOYEE_VIEW_BASIC):
        got = (await stub.GetEmployee(api.GetEmployeeRequest(id=e.id, view=view))).employee
        assert (got.social_security_number, got.bank_account_number) == ("****6789", "****3000")
    full = await get_employee(stub, e.id, sensitive=True)
    assert (full.social_security_number, full.bank_account_number) == (SSN, IBAN)

    # Four characters or fewer: the mask alone; unset: empty.
    got = await get_employee(stub, short.id)
    assert (got.social_security_number, got.bank_account_number) == ("****", "")
    assert (await get_employee(stub, short.id, sensitive=True)).social_security_number == "1234"

    batch = await stub.BatchGetEmployees(api.BatchGetEmployeesRequest(ids=[e.id, short.id]))
    assert {x.id: x.social_security_number for x in batch.employees} == {e.id: "****6789", short.id: "****"}
    batch = await stub.BatchGetEmployees(
        api.BatchGetEmployeesRequest(ids=[e.id, short.id], view=api.EMPLOYEE_VIEW_SENSITIVE)
    )
    assert {x.id: x.bank_account_number for x in batch.employees} == {e.id: IBAN, short.id: ""}
    listed = await stub.ListEmployees(api.ListEmployeesRequest(query=e.last_name.lower()))
    assert [(x.social_security_number, x.bank_account_number) for x in listed.employees] == [("****6789", "****3000")]

    updated = (
        await stub.UpdateEmployee(
            update(e, ["bank_account_number"], 1, bank_account_number="GB29NWBK60161331926819"), metadata=CALLER
        )
    ).employee
    assert updated.bank_account_number == "****6819"


async def test_history_and_events_carry_masks_and_names_only(
    stub: AsyncStub, db: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    e = await create_employee(stub, social_security_number=SSN, bank_account_number=IBAN)
    ciphertexts = [v for v in (await stored(db, e.id)).values() if v]
    await stub.UpdateEmployee(update(e, ["social_security_number"], 1, social_security_number="555-44-3333"))
    await get_employee(stub, e.id, sensitive=True)
    history = await history_rows(db, e.id)
    assert history[0]["changed_fields"]["social_security_number"] == {"old": None, "new": "****"}
    assert history[1]["changed_fields"] == {"social_security_number": {"old": "****", "new": "****"}}
    texts = [json.dumps(h["changed_fields"]) for h in history]
    texts += [r["event_data"] + r["headers"] for r in await outbox_store(db, e.id)]
    texts += [r.getMessage() for r in caplog.records]
    for secret in (SSN, IBAN, "555-44-3333", *ciphertexts):
        for text in texts:
            assert secret not in text
    for r in await outbox_rows(db, e.id):
        for secret in (SSN, IBAN, "555-44-3333"):
            assert secret.encode() not in r["payload"]


async def outbox_store(db: asyncpg.Connection, aggregate_id: str) -> list[dict[str, str]]:
    store = await event_store_rows(db, aggregate_id)
    outbox = await outbox_rows(db, aggregate_id)
    return [{"event_data": s["event_data"], "headers": o["headers"]} for s, o in zip(store, outbox, strict=True)]


async def test_an_unchanged_value_is_not_an_update(stub: AsyncStub, db: asyncpg.Connection) -> None:
    """The stored ciphertext differs from the request's plaintext: comparing decrypted values, an
    update that repeats the current numbers changes nothing (no version, no history, no event)."""
    e = await create_employee(stub, social_security_number=SSN, bank_account_number=IBAN)
    before = await stored(db, e.id)
    same = update(e, list(COLUMNS), 1, social_security_number=SSN, bank_account_number=IBAN)
    again = (await stub.UpdateEmployee(same)).employee
    assert again.version == 1
    assert await stored(db, e.id) == before
    assert [h["change_type"] for h in await history_rows(db, e.id)] == ["created"]


async def test_a_ciphertext_moved_to_another_row_or_column_does_not_decrypt(
    stub: AsyncStub, db: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    victim = await create_employee(stub, social_security_number=SSN, bank_account_number=IBAN)
    thief = await create_employee(stub, social_security_number="999-88-7777", bank_account_number="NL91ABNA0417164300")
    theirs = await stored(db, victim.id)
    caplog.set_level(logging.INFO)

    # The victim's SSN ciphertext copied into the thief's row, and their IBAN into the thief's SSN column.
    await db.execute(
        "UPDATE employees SET social_security_number = $2, bank_account_number = $3 WHERE id = $1",
        uuid.UUID(thief.id),
        theirs["social_security_number"],
        theirs["bank_account_number"],
    )
    err = await rpc_error(
        stub.GetEmployee(api.GetEmployeeRequest(id=thief.id, view=api.EMPLOYEE_VIEW_SENSITIVE)), Code.INTERNAL
    )
    assert re.fullmatch(r"internal error \(reference [0-9a-f-]{36}\)", err.details() or "")
    err = await rpc_error(
        stub.BatchGetEmployees(api.BatchGetEmployeesRequest(ids=[thief.id], view=api.EMPLOYEE_VIEW_SENSITIVE)),
        Code.INTERNAL,
    )
    # The basic view does not need the value: it shows the bare mask (and logs the damage).
    basic = await get_employee(stub, thief.id)
    assert (basic.social_security_number, basic.bank_account_number) == ("****", "****")
    # The victim is unaffected.
    assert (await get_employee(stub, victim.id, sensitive=True)).social_security_number == SSN

    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records) + caplog.text
    assert f"cannot decrypt employees.social_security_number of {thief.id}: authentication failed" in logged
    assert f"cannot decrypt employees.bank_account_number of {thief.id}: authentication failed" in logged
    for secret in (SSN, IBAN, *theirs.values()):
        assert secret and secret not in logged and secret not in (err.details() or "")

    # Swapping the two columns of one row fails the same way.
    mine = await stored(db, victim.id)
    await db.execute(
        "UPDATE employees SET social_security_number = $2, bank_account_number = $3 WHERE id = $1",
        uuid.UUID(victim.id),
        mine["bank_account_number"],
        mine["social_security_number"],
    )
    await rpc_error(
        stub.GetEmployee(api.GetEmployeeRequest(id=victim.id, view=api.EMPLOYEE_VIEW_SENSITIVE)), Code.INTERNAL
    )
    await db.execute(
        "UPDATE employees SET social_security_number = $2, bank_account_number = $3 WHERE id = $1",
        uuid.UUID(victim.id),
        mine["social_security_number"],
        mine["bank_account_number"],
    )

    # Writing new values repairs the damaged row; the audit trail records a masked change.
    repaired = (
        await stub.UpdateEmployee(
            update(
                thief, list(COLUMNS), 1, social_security_number="999-88-7777", bank_account_number="NL91ABNA0417164300"
            )
        )
    ).employee
    assert repaired.version == 2
    full = await get_employee(stub, thief.id, sensitive=True)
    assert (full.social_security_number, full.bank_account_number) == ("999-88-7777", "NL91ABNA0417164300")
    assert (await history_rows(db, thief.id))[-1]["changed_fields"] == {
        "social_security_number": {"old": "****", "new": "****"},
        "bank_account_number": {"old": "****", "new": "****"},
    }
