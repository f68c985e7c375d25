"""`erp backup` / `erp restore`: every database round-trips (row counts and checksums equal), the
manifest describes the dumps, retention prunes, and a database with data is never overwritten
without --force."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import replace
from pathlib import Path

import asyncpg
import pytest

from services.ops.backup import RestoreRefused, backup, backups, read_manifest, restore, sha256
from services.ops.pgtools import database_state, targets
from services.runtime.settings import SERVICES, Settings, to_libpq_url
from tests.ops.helpers import drop_databases, erp

ROUND_TRIP_PREFIX = "erptest_rt_"


async def fingerprint(url: str) -> dict[str, tuple[int, str]]:
    """Per table of the public schema: (row count, md5 of the sorted rows)."""
    conn = await asyncpg.connect(url)
    try:
        tables = [
            r[0]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        ]
        out = {}
        for table in tables:
            rows = await conn.fetch(f'SELECT t::text AS r FROM "{table}" t')
            digest = hashlib.md5("\n".join(sorted(r[0] for r in rows)).encode()).hexdigest()
            out[table] = (len(rows), digest)
        return out
    finally:
        await conn.close()


async def test_every_database_round_trips(settings: Settings, tmp_path: Path) -> None:
    dest = tmp_path / "backups"
    made = erp(settings, "backup", "--dest", str(dest))
    assert made.returncode == 0, made.stderr
    [folder] = backups(dest)
    manifest = json.loads((folder / "manifest.json").read_text())
    entries = {e["service"]: e for e in manifest["databases"]}
    assert sorted(entries) == sorted(SERVICES)
    for service, entry in entries.items():
        assert entry["database"] == settings.database_name(service)
        assert entry["size"] == (folder / entry["file"]).stat().st_size > 0
        assert entry["sha256"] == sha256(folder / entry["file"])
        assert entry["server_version"] and entry["time"]

    copy = replace(settings, database_prefix=ROUND_TRIP_PREFIX)
    try:
        restored = erp(copy, "restore", str(folder))
        assert restored.returncode == 0, restored.stderr
        rows = 0
        for service in SERVICES:
            original = await fingerprint(to_libpq_url(settings.service_database_url(service)))
            again = await fingerprint(to_libpq_url(copy.service_database_url(service)))
            assert again == original, service
            rows += sum(n for n, _ in original.values())
        assert rows > 0  # at least the seeded chart of accounts and the migration versions

        refused = await asyncio.to_thread(erp, copy, "restore", str(folder), "--service", "employee")
        assert refused.returncode == 1
        assert "refusing to overwrite erptest_rt_employee_db" in refused.stderr
        employee = {"employee": targets(copy, ["employee"])[0]}
        with pytest.raises(RestoreRefused):
            await asyncio.to_thread(restore, folder, employee)
        assert [e.service for e in await asyncio.to_thread(restore, folder, employee, force=True)] == ["employee"]
    finally:
        await drop_databases(copy)


async def test_retention_keeps_the_newest(settings: Settings, tmp_path: Path) -> None:
    dest = tmp_path / "backups"
    for _ in range(3):
        await asyncio.to_thread(backup, targets(settings, ["employee"]), dest, keep=2)
    kept = backups(dest)
    assert len(kept) == 2
    assert [read_manifest(f)[0].service for f in kept] == ["employee", "employee"]


async def test_a_damaged_dump_is_not_restored(settings: Settings, tmp_path: Path) -> None:
    folder = await asyncio.to_thread(backup, targets(settings, ["billing"]), tmp_path / "backups")
    dump = folder / "billing.dump"
    dump.write_bytes(dump.read_bytes()[:-10])
    copy = replace(settings, database_prefix="erptest_dmg_")
    with pytest.raises(ValueError, match="does not match its checksum"):
        restore(folder, {"billing": targets(copy, ["billing"])[0]})
    assert database_state(targets(copy, ["billing"])[0]) == "missing"  # nothing was created
