"""The point-in-time recovery drill, on a PostgreSQL of its own (durable, archiving WAL):
commit rows, note T, switch WAL, commit more; recover to T: everything before T, nothing after."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from services.ops import pgtools, pitr
from services.ops.embedded import EmbeddedPostgres, free_port
from services.runtime.settings import Settings, to_libpq_url
from tests.ops.helpers import erp


def _rows(url: str) -> list[int]:
    out = pgtools.query(url, "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM drill")
    return [int(v) for v in out.split(",") if v]


def test_pitr_drill(tmp_path: Path, settings: Settings) -> None:
    pg = EmbeddedPostgres(tmp_path / "postgres", free_port(), durable=True, archive_dir=tmp_path / "wal-archive")
    server = pg.start()
    own = replace(settings, database_url=server, database_prefix="drill_", data_dir=tmp_path)
    live = to_libpq_url(own.service_database_url("employee"))
    try:
        based = erp(own, "basebackup")
        assert based.returncode == 0, based.stderr
        assert "base backup written to" in based.stdout
        pgtools.query(server, "CREATE DATABASE drill_employee_db")
        pgtools.query(live, "CREATE TABLE drill (id int PRIMARY KEY, note text)")
        for i in range(1, 51, 10):  # five commits of ten rows before T
            pgtools.query(live, f"INSERT INTO drill SELECT g, 'before' FROM generate_series({i}, {i + 9}) g")
        target_time = pgtools.server_now(server)
        pgtools.query(server, "SELECT pg_switch_wal()")
        pgtools.query(live, "INSERT INTO drill SELECT g, 'after' FROM generate_series(51, 100) g")
        pgtools.query(live, "UPDATE drill SET note = 'changed after T' WHERE id <= 10")
        assert len(_rows(live)) == 100

        # The whole cluster, recovered into a new data directory and left running.
        recovered = pitr.recover_to_time(
            target_time,
            archive_dir=tmp_path / "wal-archive",
            basebackups=tmp_path / "basebackups",
            work_root=tmp_path / "recovered",
            source_url=server,
        )
        try:
            copy = recovered.url.rsplit("/", 1)[0] + "/drill_employee_db"
            assert _rows(copy) == list(range(1, 51))
            assert pgtools.query(copy, "SELECT count(*) FROM drill WHERE note <> 'before'") == "0"
            assert pgtools.query(recovered.url, "SELECT pg_is_in_recovery()") == "f"  # promoted: writable
            info = json.loads((recovered.server.data_dir.parent / "recovered.json").read_text())
            assert info["url"] == recovered.url
        finally:
            pitr.discard(recovered)

        with pytest.raises(ValueError, match="in the future"):
            pitr.archive_current_wal(server, after=target_time + timedelta(days=1))

        # One service database back to T, over the live one (the CLI does recover + dump + restore).
        result = erp(own, "restore", "--to-time", target_time.isoformat(), "--service", "employee")
        assert result.returncode == 0, result.stderr + result.stdout
        assert "restored drill_employee_db to" in result.stdout
        assert _rows(live) == list(range(1, 51))
        assert not any((tmp_path / "recovered").iterdir()), "the cluster copy is removed afterwards"

        # Retention: a new base backup makes the old one and the WAL before it unnecessary.
        pruned = erp(own, "basebackup", "--keep", "1")
        assert pruned.returncode == 0, pruned.stderr
        [kept] = pitr.basebackups(tmp_path / "basebackups")
        first_needed = pitr.start_wal_file(kept)
        segments = [f.name for f in (tmp_path / "wal-archive").iterdir() if len(f.name) == 24]
        assert segments and min(segments) == first_needed
    finally:
        pg.stop()
