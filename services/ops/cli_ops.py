"""`erp backup`, `erp restore`, `erp basebackup` and `erp reconcile` (see backup.py, pitr.py,
reconcile.py). They work against the embedded server (started for the command when `erp up` is
not running) or any server named by ERP_DATABASE_URL / ERP_<SERVICE>_DATABASE_URL."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.ops import backup, pgtools, pitr, s3
from services.ops.reconcile import Report, reconcile
from services.ops.servers import database_server
from services.runtime.settings import SERVICES, Settings


def _settings() -> Settings:
    from services.ops.cli import resolved_settings

    return resolved_settings()


def _services(ns: argparse.Namespace) -> list[str]:
    return list(dict.fromkeys(ns.service)) if ns.service else list(SERVICES)


def cmd_backup(ns: argparse.Namespace) -> int:
    settings = _settings()
    root = Path(ns.dest) if ns.dest else settings.data_dir / "backups"
    with database_server(settings) as live:
        folder = backup.backup(pgtools.targets(live, _services(ns)), root, keep=ns.keep, env=pgtools.tool_env(live))
    print(f"backup written to {folder}")
    for entry in json.loads((folder / backup.MANIFEST).read_text())["databases"]:
        print(f"  {entry['database']:<28} {entry['size']:>12} bytes  sha256 {entry['sha256'][:16]}…")
    target = s3.S3Target.from_env(os.environ)
    if target is not None:
        keys = s3.upload(target, folder)
        print(f"uploaded {len(keys)} files to s3://{target.bucket}/{target.key(folder.name)}/")
        if ns.keep is not None:
            s3.prune(target, ns.keep)
    return 0


def _parse_time(raw: str) -> datetime:
    value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def cmd_restore(ns: argparse.Namespace) -> int:
    settings = _settings()
    if ns.to_time:
        return _restore_to_time(settings, ns)
    if not ns.backup:
        print("name a backup folder, or use --to-time T for point-in-time recovery", file=sys.stderr)
        return 2
    folder = Path(ns.backup)
    services = ns.service or [e.service for e in backup.read_manifest(folder)]
    with database_server(settings) as live:
        targets = {t.service: t for t in pgtools.targets(live, services)}
        try:
            restored = backup.restore(folder, targets, force=ns.force, env=pgtools.tool_env(live))
        except backup.RestoreRefused as exc:
            print(str(exc), file=sys.stderr)
            return 1
    for entry in restored:
        print(f"restored {entry.service} into {targets[entry.service].database}")
    print("next: `erp reconcile` lists references and caches the restore made inconsistent")
    return 0


def _restore_to_time(settings: Settings, ns: argparse.Namespace) -> int:
    """The whole cluster to T (left running), or with --service: those databases, over the live ones."""
    target_time = _parse_time(ns.to_time)
    with database_server(settings) as live:
        live_targets = pgtools.targets(live, ns.service or [])
        recovered = pitr.recover_to_time(
            target_time,
            archive_dir=Path(ns.archive) if ns.archive else settings.data_dir / "wal-archive",
            basebackups=settings.data_dir / "basebackups",
            work_root=settings.data_dir / "recovered",
            basebackup=Path(ns.basebackup) if ns.basebackup else None,
            source_url=pgtools.targets(live, [*(ns.service or []), "employee"])[0].server,
        )
        if not live_targets:
            print(f"cluster recovered to {target_time.isoformat()} from {recovered.basebackup}")
            print(f"  running at {recovered.url}  (data in {recovered.server.data_dir})")
            print(f"  stop it with: {pitr.stop_command(recovered)}")
            return 0
        try:
            for target in live_targets:
                pitr.restore_service_to_time(recovered, target, env=pgtools.tool_env(live))
                print(f"restored {target.database} to {target_time.isoformat()} (from a recovered copy of the cluster)")
        finally:
            pitr.discard(recovered)
    print("next: `erp reconcile` lists references and caches the restore made inconsistent")
    return 0


def cmd_basebackup(ns: argparse.Namespace) -> int:
    settings = _settings()
    root = Path(ns.dest) if ns.dest else settings.data_dir / "basebackups"
    with database_server(settings) as live:
        server = pgtools.targets(live, ["employee"])[0].server
        folder = pitr.take_basebackup(server, root, pgtools.tool_env(live))
    print(f"base backup written to {folder}")
    if ns.keep is not None:
        archive = Path(ns.archive) if ns.archive else settings.data_dir / "wal-archive"
        for old in pitr.prune_basebackups(root, max(ns.keep, 1), archive):
            print(f"removed base backup {old}")
        print(f"removed archived WAL older than {pitr.start_wal_file(pitr.basebackups(root)[0])}")
    return 0


def _print_report(report: Report) -> None:
    for d in report.dangling:
        sample = ", ".join(d.missing[:5]) + (" …" if len(d.missing) > 5 else "")
        print(f"DANGLING {d.reference}: {len(d.missing)} missing ids in {d.referring_rows} rows ({sample})")
    for c in report.caches:
        state = (
            "consistent"
            if c.clean
            else (f"missing {len(c.missing)}, extra {len(c.extra)}, ahead {len(c.ahead)}, behind {len(c.behind)}")
        )
        print(f"CACHE {c.cache.name} vs {c.cache.owner}_db.{c.cache.owner_table}: {state}")
        if c.rebuilt is not None:
            print(f"  rebuilt from {c.cache.owner}_db directly with SQL: {c.rebuilt} rows")
    for s in report.skipped:
        print(f"skipped {s}")
    print("consistent" if report.consistent else "inconsistencies remain (see above)")


def _report_json(report: Report) -> dict[str, Any]:
    return {
        "dangling": [
            {"reference": str(d.reference), "missing": d.missing, "referring_rows": d.referring_rows}
            for d in report.dangling
        ],
        "caches": [
            {
                "cache": c.cache.name,
                "missing": c.missing,
                "extra": c.extra,
                "ahead": c.ahead,
                "behind": c.behind,
                "rebuilt": c.rebuilt,
            }
            for c in report.caches
        ],
        "skipped": report.skipped,
        "consistent": report.consistent,
    }


def cmd_reconcile(ns: argparse.Namespace) -> int:
    settings = _settings()
    with database_server(settings) as live:
        urls = {t.service: t.url for t in pgtools.targets(live, list(SERVICES))}
        report = asyncio.run(reconcile(urls, fix=ns.fix, **live.pg_connect_kwargs()))
    if ns.json:
        print(json.dumps(_report_json(report), indent=2))
    else:
        _print_report(report)
    return 0 if report.consistent else 1


def _reported(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A failing PostgreSQL tool or a bad backup is a message and exit code 1, not a traceback."""

    def run(ns: argparse.Namespace) -> int:
        try:
            return command(ns)
        except (pgtools.ToolError, ValueError, RuntimeError) as exc:
            print(f"erp {ns.command} failed: {exc}", file=sys.stderr)
            return 1

    return run


def register(sub: Any) -> None:
    """Add the backup/restore/reconcile commands to the `erp` parser."""
    p = sub.add_parser("backup", help="pg_dump -Fc of every service database into a timestamped folder")
    p.add_argument("--service", action="append", choices=SERVICES, help="only this service (repeatable)")
    p.add_argument("--dest", help="root folder of backups (default <data dir>/backups)")
    p.add_argument("--keep", type=int, help="keep only the newest N backups (also on S3)")
    p.set_defaults(func=_reported(cmd_backup))
    p = sub.add_parser("restore", help="restore a backup folder, or recover to a point in time (--to-time)")
    p.add_argument("backup", nargs="?", help="a backup folder (with manifest.json)")
    p.add_argument("--service", action="append", choices=SERVICES, help="only this service (repeatable)")
    p.add_argument("--force", action="store_true", help="drop and recreate databases that hold data")
    p.add_argument("--to-time", help="point-in-time recovery target, e.g. 2026-01-15T10:30:00Z")
    p.add_argument("--basebackup", help="base backup folder to start from (default: newest before the target)")
    p.add_argument("--archive", help="WAL archive folder (default <data dir>/wal-archive)")
    p.set_defaults(func=_reported(cmd_restore))
    p = sub.add_parser("basebackup", help="pg_basebackup of the whole cluster (for --to-time recovery)")
    p.add_argument("--dest", help="root folder of base backups (default <data dir>/basebackups)")
    p.add_argument("--keep", type=int, help="keep the newest N base backups and the WAL they need")
    p.add_argument("--archive", help="WAL archive folder to prune (default <data dir>/wal-archive)")
    p.set_defaults(func=_reported(cmd_basebackup))
    p = sub.add_parser("reconcile", help="dangling cross-service references and stale caches (after a restore)")
    p.add_argument("--fix", action="store_true", help="rebuild stale caches from their owners")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_reported(cmd_reconcile))
