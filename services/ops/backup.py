"""Logical backups (`erp backup`) and their restore (`erp restore`).

A backup is a folder `<root>/<UTC stamp>/` holding one `pg_dump -Fc` file per service database
and `manifest.json` (database, file, size, sha256, server version, time). Retention keeps the
newest N folders. Restore verifies the checksum, then restores into a fresh database; an existing
non-empty one is refused unless forced (then dropped and created again).

Restored outbox rows that were unpublished at backup time are sent again by the relay with their
original event id: JetStream drops them within its duplicate window, consumers skip them after it
(processed_events), so nothing is applied twice and no event gets a new id.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.ops import pgtools
from services.ops.pgtools import Target

MANIFEST = "manifest.json"
PARALLEL_DUMPS = 4


class RestoreRefused(RuntimeError):
    """The target database holds data and --force was not given."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dump(target: Target, folder: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """`pg_dump -Fc` of one database into `folder`; returns its manifest entry."""
    file = folder / f"{target.service}.dump"
    version = pgtools.server_version(target.url, env)
    pgtools.run("pg_dump", ["-Fc", "--no-password", "-d", target.url, "-f", str(file)], env, server=target.url)
    return {
        "service": target.service,
        "database": target.database,
        "file": file.name,
        "size": file.stat().st_size,
        "sha256": sha256(file),
        "server_version": version,
        "time": datetime.now(UTC).isoformat(),
    }


def backup(targets: list[Target], root: Path, *, keep: int | None = None, env: dict[str, str] | None = None) -> Path:
    """Dump every target into a new folder under `root`; prune to the newest `keep` folders."""
    folder = root / pgtools.stamp()
    folder.mkdir(parents=True)
    with ThreadPoolExecutor(max_workers=PARALLEL_DUMPS) as pool:  # pg_dump waits on I/O: overlap them
        entries = list(pool.map(lambda t: dump(t, folder, env), targets))
    manifest = {"created_at": datetime.now(UTC).isoformat(), "format": "pg_dump custom (-Fc)", "databases": entries}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2))
    if keep is not None:
        prune(root, keep)
    return folder


def backups(root: Path) -> list[Path]:
    """Backup folders under `root`, oldest first."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and pgtools.is_stamp(p.name) and (p / MANIFEST).exists())


def prune(root: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups; returns the deleted folders."""
    doomed = backups(root)[:-keep] if keep > 0 else backups(root)
    for folder in doomed:
        shutil.rmtree(folder)
    return doomed


@dataclass(frozen=True)
class Entry:
    service: str
    database: str
    file: Path
    sha256: str


def read_manifest(folder: Path) -> list[Entry]:
    data = json.loads((folder / MANIFEST).read_text())
    return [Entry(e["service"], e["database"], folder / e["file"], e["sha256"]) for e in data["databases"]]


def restore(
    folder: Path,
    targets: dict[str, Target],
    *,
    force: bool = False,
    env: dict[str, str] | None = None,
) -> list[Entry]:
    """Restore the manifest's databases for the services in `targets` (service -> where to).

    Checks every checksum and every target first, so a refusal restores nothing."""
    entries = [e for e in read_manifest(folder) if e.service in targets]
    missing = sorted(set(targets) - {e.service for e in entries})
    if missing:
        raise ValueError(f"{folder} has no dump of: {', '.join(missing)}")
    for e in entries:
        if sha256(e.file) != e.sha256:
            raise ValueError(f"{e.file} does not match its checksum in {MANIFEST}: the backup is damaged")
    states = {e.service: pgtools.database_state(targets[e.service], env) for e in entries}
    occupied = [targets[s].database for s, state in states.items() if state == "non-empty"]
    if occupied and not force:
        raise RestoreRefused(
            f"refusing to overwrite {', '.join(occupied)}: they hold data (use --force to drop and recreate them)"
        )
    for e in entries:
        target, state = targets[e.service], states[e.service]
        if state == "missing" or (state == "non-empty" and force):
            pgtools.recreate_database(target, drop=state != "missing", env=env)
        pgtools.run(
            "pg_restore",
            ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", "-d", target.url, str(e.file)],
            env,
            server=target.url,
        )
    return entries
