"""Key rotation (`erp rotate-key`) and the migration that encrypted existing rows.

Each test runs on an employee database of its own (prefix `erptest_sec<hex>_`, subject root of its
own), so counting every value of the table is exact and the session's database keeps its keys.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import grpc
import pytest
from alembic import command
from erp.employee.v1 import employee_service_pb2 as api

from services.employee.pii import binding
from services.ops import cli
from services.ops.embedded import free_port
from services.ops.rotate_key import ENCRYPTED_TABLES, format_report, rotate
from services.ops.scratch import delete_streams
from services.runtime.crypto import Binding, DecryptionError, KeyRing, PiiKeyError, generate_key, key_entry
from services.runtime.migrations import alembic_config, ensure_databases, upgrade
from services.runtime.serve import load_definition
from services.runtime.service import RunningService, start_service
from services.runtime.settings import SERVICES, Settings, to_libpq_url, with_database
from tests.employee.helpers import IBAN, SSN, Stub, create_employee, email, get_employee

if TYPE_CHECKING:
    from erp.employee.v1.employee_service_pb2_grpc import EmployeeServiceAsyncStub as AsyncStub

KEY_A, KEY_B = generate_key(), generate_key()
COLUMNS = ("social_security_number", "bank_account_number")


@dataclass
class Isolated:
    settings: Settings  # keys: A only, active A
    db: asyncpg.Connection

    def with_keys(self, active: str, **keys: bytes) -> Settings:
        entries = ",".join(key_entry(kid, key) for kid, key in keys.items())
        return replace(self.settings, pii_keys=entries, pii_active_key=active)


@pytest.fixture
async def isolated(settings: Settings, tmp_path: Path) -> AsyncIterator[Isolated]:
    tag = secrets.token_hex(3)
    own = replace(
        settings,
        database_prefix=f"erptest_sec{tag}_",
        subject_root=f"tsec{tag}",
        data_dir=tmp_path / "data",
        pii_keys=key_entry("A", KEY_A),
        pii_active_key="A",
    )
    await ensure_databases(own, ["employee"])
    await asyncio.to_thread(upgrade, own, "employee")
    conn = await asyncpg.connect(to_libpq_url(own.service_database_url("employee")))
    try:
        yield Isolated(own, conn)
    finally:
        await conn.close()
        await delete_streams(own)
        await _drop(own)


async def _drop(s: Settings) -> None:
    server = to_libpq_url(s.service_database_url("employee"))
    conn = await asyncpg.connect(with_database(server, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{s.database_name("employee")}" WITH (FORCE)')
    finally:
        await conn.close()


@asynccontextmanager
async def employee_service(s: Settings) -> AsyncIterator[AsyncStub]:
    running: RunningService = await start_service(load_definition("employee"), s, port=free_port())
    channel = grpc.aio.insecure_channel(running.server.address.replace("0.0.0.0", "127.0.0.1"))
    try:
        yield Stub(channel)
    finally:
        await channel.close()
        await running.shutdown()


async def key_ids(db: asyncpg.Connection) -> dict[str, int]:
    """How many stored values each key id holds ("plain" for unencrypted ones)."""
    counts: dict[str, int] = {}
    for column in COLUMNS:
        for (value,) in await db.fetch(f"SELECT {column} FROM employees WHERE {column} IS NOT NULL"):
            match = re.match(r"^v1:([^:]+):", value)
            kid = match.group(1) if match else "plain"
            counts[kid] = counts.get(kid, 0) + 1
    return counts


async def snapshot(db: asyncpg.Connection) -> dict[uuid.UUID, tuple[Any, ...]]:
    rows = await db.fetch(f"SELECT id, version, updated_at, {', '.join(COLUMNS)} FROM employees")
    return {r["id"]: tuple(r)[1:] for r in rows}


async def run_cli(monkeypatch: pytest.MonkeyPatch, s: Settings, *args: str) -> int:
    """`erp rotate-key ...` as an operator runs it: settings from the environment."""
    for name in SERVICES:
        monkeypatch.delenv(f"ERP_{name.upper()}_DATABASE_URL", raising=False)
    assert s.database_url
    env = {
        "ERP_DATABASE_URL": s.database_url,
        "ERP_DATABASE_PREFIX": s.database_prefix,
        "ERP_DATA_DIR": str(s.data_dir),
        "ERP_PII_KEYS": s.pii_keys,
        "ERP_PII_ACTIVE_KEY": s.pii_active_key,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as info:
        await asyncio.to_thread(cli.main, ["rotate-key", *args])
    return int(info.value.code or 0)


async def test_rotation_moves_every_value_to_the_new_key_and_keeps_it_readable(
    isolated: Isolated, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = isolated.db
    # 1. Employees written under key A.
    people: dict[str, tuple[str, str]] = {}
    async with employee_service(isolated.settings) as stub:
        for i in range(7):
            ssn, iban = f"{SSN[:-1]}{i}", f"{IBAN[:-1]}{i}"
            e = await create_employee(stub, social_security_number=ssn, bank_account_number=iban)
            people[e.id] = (ssn, iban)
        only_ssn = await create_employee(stub, social_security_number="111-22-3333")
        people[only_ssn.id] = ("111-22-3333", "")
        nothing = await create_employee(stub)
        people[nothing.id] = ("", "")
    # A row bulk-loaded past the API, in plaintext (e.g. an import): rotation encrypts it too.
    legacy = uuid.uuid4()
    await db.execute(
        "INSERT INTO employees (id, first_name, last_name, email, job_title, salary, hire_date, "
        "social_security_number, bank_account_number) "
        "VALUES ($1, 'Old', 'Row', $2, 'Clerk', 1000, '2001-01-01', $3, $4)",
        legacy,
        email("legacy"),
        "000-11-2222",
        "FR7630006000011234567890189",
    )
    people[str(legacy)] = ("000-11-2222", "FR7630006000011234567890189")
    assert await key_ids(db) == {"A": 15, "plain": 2}
    before = await snapshot(db)

    # 2. Keys A + B, B active: a dry run counts and writes nothing; the real run rotates in batches.
    ab = isolated.with_keys("B", A=KEY_A, B=KEY_B)
    assert await run_cli(monkeypatch, ab, "--dry-run", "--batch-size", "3") == 0
    out = capsys.readouterr().out
    assert "would re-encrypt 8, encrypted 1 plaintext, failed 0" in out
    assert await snapshot(db) == before

    assert await run_cli(monkeypatch, ab, "--batch-size", "3") == 0
    out = capsys.readouterr().out
    assert "active key 'B'" in out
    assert "employees.social_security_number: re-encrypted 8, encrypted 1 plaintext, failed 0" in out
    assert "employees.bank_account_number: re-encrypted 7, encrypted 1 plaintext, failed 0" in out
    assert "no value is under key(s) A: they can be removed from ERP_PII_KEYS" in out
    for secret in (SSN, IBAN, "000-11-2222", "111-22-3333"):
        assert secret not in out

    # Raw SQL: only key B; versions and update times untouched (the values did not change).
    assert await key_ids(db) == {"B": 17}
    after = await snapshot(db)
    assert {k: v[:2] for k, v in after.items()} == {k: v[:2] for k, v in before.items()}
    assert all(after[k][2:] != before[k][2:] for k in before if any(before[k][2:]))

    # 3. Idempotent: nothing left to do, nothing rewritten.
    assert await run_cli(monkeypatch, ab) == 0
    assert "re-encrypted 0, encrypted 0 plaintext, failed 0" in capsys.readouterr().out
    assert await snapshot(db) == after

    # 4. Key A removed: every value still reads through the API, with B alone.
    async with employee_service(isolated.with_keys("B", B=KEY_B)) as stub:
        for employee_id, (ssn, iban) in people.items():
            full = await get_employee(stub, employee_id, sensitive=True)
            assert (full.social_security_number, full.bank_account_number) == (ssn, iban)
            basic = await get_employee(stub, employee_id)
            assert basic.social_security_number == ("****" + ssn[-4:] if ssn else "")
            assert basic.bank_account_number == ("****" + iban[-4:] if iban else "")
    # ... and key A alone reads none of them.
    only_a = KeyRing({"A": KEY_A}, "A")
    value = await db.fetchval("SELECT social_security_number FROM employees WHERE id = $1", legacy)
    with pytest.raises(DecryptionError, match="unknown key id 'B'"):
        only_a.decrypt(value, binding(legacy, "social_security_number"))


async def test_rotation_reports_values_it_cannot_decrypt_and_leaves_them(
    isolated: Isolated, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = isolated.db
    async with employee_service(isolated.settings) as stub:
        good = await create_employee(stub, social_security_number=SSN, bank_account_number=IBAN)
        other = await create_employee(stub, social_security_number="222-33-4444")
    # One value under a key nobody configured, one copied from another row.
    lost = KeyRing({"Z": generate_key()}, "Z").encrypt("555-66-7777", binding(uuid.UUID(other.id), COLUMNS[0]))
    copied = await db.fetchval("SELECT bank_account_number FROM employees WHERE id = $1", uuid.UUID(good.id))
    await db.execute(
        "UPDATE employees SET social_security_number = $2, bank_account_number = $3 WHERE id = $1",
        uuid.UUID(other.id),
        lost,
        copied,
    )
    ab = isolated.with_keys("B", A=KEY_A, B=KEY_B)
    assert await run_cli(monkeypatch, ab) == 1
    out = capsys.readouterr().out
    assert f"cannot decrypt employees.social_security_number of {other.id}: unknown key id 'Z'" in out
    assert f"cannot decrypt employees.bank_account_number of {other.id}: authentication failed with key 'A'" in out
    assert "re-encrypted 1, encrypted 0 plaintext, failed 1" in out
    assert copied not in out and lost not in out
    row = await db.fetchrow("SELECT * FROM employees WHERE id = $1", uuid.UUID(other.id))
    assert (row["social_security_number"], row["bank_account_number"]) == (lost, copied)  # left as they were
    assert await key_ids(db) == {"B": 2, "Z": 1, "A": 1}


async def test_rotate_function_reports_counts_per_key(isolated: Isolated) -> None:
    async with employee_service(isolated.settings) as stub:
        await create_employee(stub, social_security_number=SSN)
    keyring, reports = await rotate(isolated.with_keys("B", A=KEY_A, B=KEY_B), batch_size=1)
    (report,) = reports
    assert report.spec == ENCRYPTED_TABLES[0] and report.rows_changed == 1 and report.failed == 0
    assert report.columns["social_security_number"].keys_after == {"B": 1}
    assert report.columns["bank_account_number"].keys_after == {}
    assert any("bank_account_number: re-encrypted 0" in line for line in format_report(keyring, reports))


async def test_a_service_with_both_keys_reads_old_values_and_writes_new_ones(isolated: Isolated) -> None:
    async with employee_service(isolated.settings) as stub:
        old = await create_employee(stub, social_security_number=SSN)
    async with employee_service(isolated.with_keys("B", A=KEY_A, B=KEY_B)) as stub:
        assert (await get_employee(stub, old.id, sensitive=True)).social_security_number == SSN
        new = await create_employee(stub, social_security_number="123-00-0000")
    rows = {
        str(r["id"]): r["social_security_number"]
        for r in await isolated.db.fetch("SELECT id, social_security_number FROM employees")
    }
    assert rows[old.id].startswith("v1:A:") and rows[new.id].startswith("v1:B:")


async def test_a_service_without_the_key_of_a_value_fails_it_cleanly(isolated: Isolated) -> None:
    async with employee_service(isolated.settings) as stub:
        e = await create_employee(stub, social_security_number=SSN)
    async with employee_service(isolated.with_keys("B", B=KEY_B)) as stub:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.GetEmployee(api.GetEmployeeRequest(id=e.id, view=api.EMPLOYEE_VIEW_SENSITIVE))
        assert info.value.code() == grpc.StatusCode.INTERNAL and SSN not in (info.value.details() or "")
        assert (await get_employee(stub, e.id)).social_security_number == "****"


# ---- the migration (employee_0002) ---------------------------------------------------------------


async def test_migration_encrypts_existing_plaintext_rows_and_downgrade_restores_them(
    isolated: Isolated, monkeypatch: pytest.MonkeyPatch
) -> None:
    s, db = isolated.settings, isolated.db
    cfg = alembic_config("employee", s.service_database_url("employee"))
    await asyncio.to_thread(command.downgrade, cfg, "employee_0001")
    assert await column_type(db) == "character varying"
    rows: dict[uuid.UUID, tuple[str | None, str | None]] = {
        uuid.uuid4(): (f"{i:03d}-45-6789", f"DE8937040044053201300{i}") for i in range(5)
    }
    rows[uuid.uuid4()] = (None, None)
    for i, (key, (ssn, iban)) in enumerate(rows.items()):
        await db.execute(
            "INSERT INTO employees (id, first_name, last_name, email, job_title, salary, hire_date, "
            "social_security_number, bank_account_number) VALUES ($1, 'M', 'R', $2, 'T', 1, '2020-01-01', $3, $4)",
            key,
            f"m{i}-{secrets.token_hex(3)}@example.com",
            ssn,
            iban,
        )

    # Production without a key: the migration refuses and changes nothing.
    monkeypatch.setenv("ERP_ENV", "production")
    monkeypatch.delenv("ERP_PII_KEYS", raising=False)
    monkeypatch.delenv("ERP_PII_ACTIVE_KEY", raising=False)
    with pytest.raises(PiiKeyError):
        await asyncio.to_thread(command.upgrade, cfg, "head")
    assert await column_type(db) == "character varying"
    assert await db.fetchval("SELECT version_num FROM alembic_version") == "employee_0001"

    # The configured key (from the environment, as `erp migrate` runs it).
    monkeypatch.setenv("ERP_PII_KEYS", f"{key_entry('M', KEY_A)},{key_entry('N', KEY_B)}")
    monkeypatch.setenv("ERP_PII_ACTIVE_KEY", "M")
    await asyncio.to_thread(command.upgrade, cfg, "head")
    assert await column_type(db) == "text"
    keyring = KeyRing({"M": KEY_A}, "M")
    for key, plain in rows.items():
        stored = await db.fetchrow(
            "SELECT social_security_number, bank_account_number FROM employees WHERE id = $1", key
        )
        for column, value, expected in zip(COLUMNS, stored, plain, strict=True):
            if expected is None:
                assert value is None
            else:
                assert value.startswith("v1:M:") and expected not in value
                assert keyring.decrypt(value, Binding("employees", column, key)) == expected

    # Downgrade decrypts back into the narrow columns; upgrading again encrypts again.
    await asyncio.to_thread(command.downgrade, cfg, "employee_0001")
    for key, plain in rows.items():
        stored = await db.fetchrow(
            "SELECT social_security_number, bank_account_number FROM employees WHERE id = $1", key
        )
        assert tuple(stored) == plain
    await asyncio.to_thread(command.upgrade, cfg, "head")
    assert await key_ids(db) == {"M": 10}


async def column_type(db: asyncpg.Connection) -> str:
    result: str = await db.fetchval(
        "SELECT data_type FROM information_schema.columns WHERE table_name = 'employees' "
        "AND column_name = 'social_security_number'"
    )
    return result


async def test_migration_needs_no_key_for_an_empty_table(isolated: Isolated, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = alembic_config("employee", isolated.settings.service_database_url("employee"))
    await asyncio.to_thread(command.downgrade, cfg, "employee_0001")
    monkeypatch.setenv("ERP_ENV", "production")
    monkeypatch.delenv("ERP_PII_KEYS", raising=False)
    await asyncio.to_thread(command.upgrade, cfg, "head")
    assert await column_type(isolated.db) == "text"
