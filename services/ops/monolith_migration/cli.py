"""`erp migrate-monolith --source <postgres url> <step>`: the argparse wiring of the steps.

Targets are the servers the other `erp` commands use (ERP_DATABASE_URL / ERP_<SERVICE>_DATABASE_URL,
a running `erp up`, else the embedded server). Exit status: 0 ok, 1 a check found differences or
problems (each named in the summary), 2 a refusal or a precondition (message on stderr).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import asyncpg

from services.ops.monolith_migration.analyse import run_analyse
from services.ops.monolith_migration.backfill import run_backfill
from services.ops.monolith_migration.common import DEFAULT_PLAN, Context, MigrationError, StepResult
from services.ops.monolith_migration.compare import run_compare
from services.ops.monolith_migration.cutover import run_cutover
from services.ops.monolith_migration.extract import run_extract
from services.ops.monolith_migration.sync import run_sync
from services.ops.monolith_migration.transforms import CUTOVER_ORDER
from services.ops.monolith_migration.verify import run_verify
from services.ops.servers import database_server

Step = Callable[[Context], Coroutine[Any, Any, StepResult]]


def context(ns: argparse.Namespace, settings: Any) -> Context:
    plan = Path(ns.plan) if getattr(ns, "plan", None) else settings.data_dir / DEFAULT_PLAN
    return Context(
        settings=settings,
        source_url=getattr(ns, "source", None) or os.environ.get("ERP_MONOLITH_URL"),
        plan_path=plan,
        quiet=bool(getattr(ns, "quiet", False)),
        source_schema=getattr(ns, "source_schema", None) or "public",
    )


def execute(ns: argparse.Namespace, steps: list[Step]) -> int:
    """Run steps in order against the configured servers; stop at the first that fails."""
    from services.ops.cli import resolved_settings

    with database_server(resolved_settings()) as settings:
        ctx = context(ns, settings)
        for step in steps:
            try:
                result = asyncio.run(step(ctx))
            except MigrationError as exc:
                print(f"erp migrate-monolith: {exc}", file=sys.stderr)
                return 2
            except (asyncpg.PostgresError, OSError) as exc:  # a server refused or is unreachable
                print(f"erp migrate-monolith: {type(exc).__name__}: {exc}", file=sys.stderr)
                return 2
            print(result.render(), flush=True)
            if not result.ok:
                return 1
    return 0


def cmd_analyse(ns: argparse.Namespace) -> int:
    return execute(ns, [lambda ctx: run_analyse(ctx, replace=ns.replace)])


def cmd_extract(ns: argparse.Namespace) -> int:
    return execute(ns, [lambda ctx: run_extract(ctx, ns.service or None)])


def cmd_backfill(ns: argparse.Namespace) -> int:
    return execute(ns, [run_backfill])


def cmd_verify(ns: argparse.Namespace) -> int:
    return execute(ns, [lambda ctx: run_verify(ctx, services=ns.service or None)])


def cmd_sync(ns: argparse.Namespace) -> int:
    return execute(
        ns,
        [lambda ctx: run_sync(ctx, install_capture=ns.install, uninstall_capture=ns.uninstall, follow_s=ns.follow)],
    )


def cmd_compare(ns: argparse.Namespace) -> int:
    return execute(ns, [run_compare])


def cmd_cutover(ns: argparse.Namespace) -> int:
    if ns.rollback and ns.finalise:
        print("choose one of --rollback and --finalise", file=sys.stderr)
        return 2
    return execute(
        ns, [lambda ctx: run_cutover(ctx, ns.target, rollback=ns.rollback, finalise=ns.finalise, force=ns.force)]
    )


def cmd_run(ns: argparse.Namespace) -> int:
    return execute(ns, [lambda ctx: run_analyse(ctx, replace=False), run_extract, run_backfill, run_verify])


def _common(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--source", default=default, help="postgresql:// URL of the monolith (or ERP_MONOLITH_URL)")
    parser.add_argument("--plan", default=default, help=f"plan file (default <data dir>/{DEFAULT_PLAN})")
    parser.add_argument("--source-schema", default=default, help="the monolith's schema (default public)")
    parser.add_argument("--quiet", action="store_true", default=default, help="no progress bars")


def register(sub: Any) -> None:
    """Add `migrate-monolith` and its steps to the `erp` parser."""
    p = sub.add_parser(
        "migrate-monolith",
        help="move a monolithic ERP database into the eight service databases (spec migration phases 1-4)",
        description="Each step is resumable and idempotent; without a step: run (analyse, extract, backfill, verify).",
    )
    _common(p, None)
    p.set_defaults(func=cmd_run)  # `erp migrate-monolith --source URL` alone = run
    common = argparse.ArgumentParser(add_help=False)
    _common(common, argparse.SUPPRESS)
    steps = p.add_subparsers(dest="step", metavar="step")

    s = steps.add_parser("analyse", parents=[common], help="foreign keys, ownership, preflight; write the plan")
    s.add_argument("--replace", action="store_true", help="overwrite an existing (possibly edited) plan")
    s.set_defaults(func=cmd_analyse)

    s = steps.add_parser("extract", parents=[common], help="create + migrate the databases, copy every table")
    s.add_argument("--service", action="append", help="only this service (repeatable)")
    s.set_defaults(func=cmd_extract)

    steps.add_parser("backfill", parents=[common], help="caches, copies and sequences the monolith lacks").set_defaults(
        func=cmd_backfill
    )

    s = steps.add_parser("verify", parents=[common], help="counts, checksums, orphans, accounting invariants")
    s.add_argument("--service", action="append", help="only this service (repeatable)")
    s.set_defaults(func=cmd_verify)

    s = steps.add_parser("sync", parents=[common], help="apply the monolith's captured changes to the services")
    mode = s.add_mutually_exclusive_group()
    mode.add_argument("--install", action="store_true", help="install change capture triggers on the monolith")
    mode.add_argument("--uninstall", action="store_true", help="remove the change capture triggers")
    mode.add_argument("--follow", type=float, metavar="SECONDS", help="keep syncing every SECONDS until interrupted")
    s.set_defaults(func=cmd_sync)

    steps.add_parser("compare", parents=[common], help="the same business questions on both sides").set_defaults(
        func=cmd_compare
    )

    s = steps.add_parser("cutover", parents=[common], help=f"hand one service its data ({' -> '.join(CUTOVER_ORDER)})")
    s.add_argument("target", metavar="service", choices=CUTOVER_ORDER)
    s.add_argument("--rollback", action="store_true", help="undo a cutover that is not finalised")
    s.add_argument("--finalise", action="store_true", help="make the cutover permanent")
    s.add_argument("--force", action="store_true", help="ignore the spec's order")
    s.set_defaults(func=cmd_cutover)

    steps.add_parser("run", parents=[common], help="analyse, extract, backfill, verify").set_defaults(func=cmd_run)
