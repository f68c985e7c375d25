"""The `erp` command line: up, migrate, status, dlq list|replay, backup, restore, basebackup,
reconcile (the last four in cli_ops.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import asyncpg

from services.ops import certs, cli_ops, nats_config, rotate_key, supervisor, token
from services.ops.monolith_migration import cli as monolith_cli
from services.ops.servers import database_server
from services.runtime import dlq
from services.runtime.events import stream_name
from services.runtime.jetstream import connect
from services.runtime.migrations import ensure_databases, runnable_services, upgrade_all
from services.runtime.settings import SERVICES, Settings, to_libpq_url


def resolved_settings() -> Settings:
    """Environment first; else the servers of a running `erp up` (its run file)."""
    env = dict(os.environ)
    settings = Settings.from_env(env)
    run_file = settings.data_dir / "run.json"
    if run_file.exists():
        info = json.loads(run_file.read_text())
        if not settings.database_url and info.get("database_url"):
            env["ERP_DATABASE_URL"] = info["database_url"]
        if not settings.nats_url and info.get("nats_url"):
            env["ERP_NATS_URL"] = info["nats_url"]
        password_file = info.get("nats_admin_password_file")  # a secured `erp up`: operate as admin
        if password_file and not settings.nats_credentials("admin") and os.path.exists(password_file):
            with open(password_file) as f:
                env["ERP_ADMIN_NATS_PASSWORD"] = f.read().strip()
        settings = Settings.from_env(env)
    return settings


def cmd_up(_: argparse.Namespace) -> int:
    return supervisor.up()


def cmd_migrate(_: argparse.Namespace) -> int:
    with database_server(resolved_settings()) as settings:
        created = asyncio.run(ensure_databases(settings))
        for name in created:
            print(f"created database {name}")
        for service in upgrade_all(settings):
            print(f"migrated {settings.database_name(service)} to head")
    return 0


async def _status(settings: Settings) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    nc = None
    if settings.nats_url:
        try:
            nc = await connect(settings.nats_url, "erp-status", credentials=settings.nats_credentials("admin"))
        except Exception:
            nc = None
    for service in SERVICES:
        row: dict[str, Any] = {"service": service, "grpc": settings.grpc_address(service)}
        if service in runnable_services():
            healthy = await supervisor.grpc_healthy(settings.grpc_address(service), settings.tls_dir)
            row["health"] = "SERVING" if healthy else "DOWN"
        else:
            row["health"] = "not implemented"
        try:
            conn = await asyncpg.connect(to_libpq_url(settings.service_database_url(service)), timeout=2)
            try:
                backlog = await conn.fetchrow(
                    "SELECT count(*) AS n, extract(epoch FROM now() - min(created_at)) AS age "
                    "FROM outbox WHERE published_at IS NULL"
                )
                row["outbox_backlog"] = backlog["n"]
                row["oldest_unsent_s"] = str(round(Decimal(backlog["age"] or 0), 1))
            finally:
                await conn.close()
        except Exception:
            row["outbox_backlog"] = "?"
        if nc is not None:
            pending = redelivered = found = 0
            for source in SERVICES:
                try:
                    info = await nc.jetstream().consumer_info(stream_name(settings.subject_root, source), service)
                except Exception:
                    continue
                found += 1
                pending += info.num_pending or 0
                redelivered += info.num_redelivered or 0
            row["consumer_pending"] = pending if found else "-"
            row["redelivered"] = redelivered
        rows.append(row)
    if nc is not None:
        letters = await dlq.list_dead_letters(nc.jetstream(), settings.subject_root)
        for row in rows:
            row["dead_letters"] = sum(1 for d in letters if d.consumer == row["service"])
        await nc.close()
    return rows


def cmd_status(ns: argparse.Namespace) -> int:
    rows = asyncio.run(_status(resolved_settings()))
    if ns.json:
        print(json.dumps(rows, indent=2))
        return 0
    cols = [
        "service",
        "grpc",
        "health",
        "outbox_backlog",
        "oldest_unsent_s",
        "consumer_pending",
        "redelivered",
        "dead_letters",
    ]
    print("  ".join(f"{c:<16}" for c in cols))
    for row in rows:
        print("  ".join(f"{row.get(c, '-')!s:<16}" for c in cols))
    return 0 if all(r["health"] != "DOWN" for r in rows) else 1


async def _with_js(action: Callable[[Any, str], Awaitable[int]]) -> int:
    settings = resolved_settings()
    nc = await connect(settings.require_nats_url(), "erp-dlq", credentials=settings.nats_credentials("admin"))
    try:
        return await action(nc.jetstream(), settings.subject_root)
    finally:
        await nc.close()


def cmd_dlq_list(_: argparse.Namespace) -> int:
    async def action(js: Any, root: str) -> int:
        letters = await dlq.list_dead_letters(js, root)
        if not letters:
            print("no dead letters")
        for d in letters:
            print(f"#{d.seq}  {d.consumer:<12} {d.event_type}  id={d.event_id}  deliveries={d.deliveries}")
            print(f"      subject={d.original_subject}  error={d.error}")
        return 0

    return asyncio.run(_with_js(action))


def cmd_dlq_replay(ns: argparse.Namespace) -> int:
    async def action(js: Any, root: str) -> int:
        chosen = await dlq.replay(js, root, ns.seq or None)
        print(f"replayed {len(chosen)} dead letter(s)")
        return 0

    if not ns.seq and not ns.all:
        print("name the dead letters to replay with --seq N (repeatable) or use --all", file=sys.stderr)
        return 2
    return asyncio.run(_with_js(action))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="erp", description="Run and operate the ERP back office.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "up", help="start everything (embedded PostgreSQL/NATS unless ERP_DATABASE_URL/ERP_NATS_URL are set)"
    ).set_defaults(func=cmd_up)
    sub.add_parser("migrate", help="create the eight databases and apply every migration").set_defaults(
        func=cmd_migrate
    )
    status = sub.add_parser("status", help="health, outbox backlog, consumer lag and dead letters per service")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=cmd_status)
    dlq_parser = sub.add_parser("dlq", help="dead letters: events a consumer failed to apply")
    dlq_sub = dlq_parser.add_subparsers(dest="dlq_command", required=True)
    dlq_sub.add_parser("list", help="list dead letters with their error").set_defaults(func=cmd_dlq_list)
    replay = dlq_sub.add_parser("replay", help="re-deliver dead letters to their consumers")
    replay.add_argument("--seq", type=int, action="append", help="dead-letter sequence number (repeatable)")
    replay.add_argument("--all", action="store_true", help="replay every dead letter")
    replay.set_defaults(func=cmd_dlq_replay)
    cli_ops.register(sub)
    rotate_key.register(sub)  # erp rotate-key: re-encrypt sensitive columns under the active key
    monolith_cli.register(sub)  # erp migrate-monolith: analyse, extract, backfill, verify, sync, compare, cutover
    certs.register(sub)  # erp certs: a development CA and mutual-TLS certificates (ERP_TLS_DIR)
    nats_config.register(sub)  # erp nats-config: NATS users and permissions per service
    token.register(sub)  # erp token: a development bearer token for the gateway (services/ops/token.py)
    return parser


def main(argv: list[str] | None = None) -> None:
    ns = build_parser().parse_args(argv)
    sys.exit(ns.func(ns))


if __name__ == "__main__":
    main()
