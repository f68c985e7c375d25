"""Time `erp migrate-monolith` on a generated monolith: analyse, extract, backfill, verify, then a
sync pass after a burst of monolith writes and compare.

    python -m bench.migrate_monolith --employees 100000 [--keep DIR] [--durable]

Uses its own embedded PostgreSQL in a temporary directory (or DIR with --keep, so a second run can
reuse the generated monolith with --reuse). Prints one JSON document: seconds, rows and rows/s per
step, and per copy unit. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg

from monolith.generate import generate
from monolith.load import load_monolith
from services.ops.embedded import EmbeddedPostgres, free_port
from services.ops.monolith_migration.analyse import run_analyse
from services.ops.monolith_migration.backfill import run_backfill
from services.ops.monolith_migration.common import Context, StepResult
from services.ops.monolith_migration.compare import run_compare
from services.ops.monolith_migration.extract import run_extract
from services.ops.monolith_migration.sync import run_sync
from services.ops.monolith_migration.verify import run_verify
from services.runtime.settings import Settings, with_database

WRITES = 1_000  # monolith writes during the "parallel run"


async def burst(url: str) -> int:
    """Salary changes for WRITES employees (with version bumps), as the monolith's app would."""
    conn = await asyncpg.connect(url)
    try:
        status = await conn.execute(
            "UPDATE employees SET salary = salary + 100, version = version + 1, updated_at = now() "
            f"WHERE id IN (SELECT id FROM employees ORDER BY id LIMIT {WRITES})"
        )
        return int(status.split()[-1])
    finally:
        await conn.close()


def figures(result: StepResult, rows: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"ok": result.ok, "seconds": round(result.seconds, 2)}
    if rows is not None:
        out["rows"] = rows
        out["rows_per_s"] = round(rows / result.seconds) if result.seconds else None
    if not result.ok:
        out["problems"] = result.problems[:20]
    return out


async def main_async(ns: argparse.Namespace) -> dict[str, Any]:
    root = Path(ns.keep) if ns.keep else Path(tempfile.mkdtemp(prefix="mm-bench-"))
    pg = EmbeddedPostgres(root / "pg", ns.port or free_port(), durable=ns.durable, archive=False)
    url = pg.start()
    report: dict[str, Any] = {
        "employees": ns.employees,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "durable_commits": ns.durable,
    }
    try:
        source = with_database(url, "mm_bench_monolith")
        if not ns.reuse:
            started = time.perf_counter()
            data = generate(ns.employees)
            report["generate_s"] = round(time.perf_counter() - started, 1)
            report["monolith_rows"] = sum(data.counts().values()) - data.counts()["payroll_runs"]
            loaded = await load_monolith(source, data)
            report["load_monolith_s"] = round(loaded["total_s"], 1)
            del data
        conn = await asyncpg.connect(with_database(url, "postgres"))
        for r in await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE 'mmbench_%'"):
            await conn.execute(f'DROP DATABASE "{r[0]}" WITH (FORCE)')
        await conn.close()
        settings = replace(Settings.from_env({}), database_url=url, database_prefix="mmbench_", data_dir=root / "data")
        ctx = Context(settings, source, root / "data" / "plan.json", quiet=not ns.progress)
        steps: dict[str, Any] = {}
        installed = await run_sync(ctx, install_capture=True)
        steps["capture_install"] = figures(installed)
        analysed = await run_analyse(ctx, replace=True)
        steps["analyse"] = figures(analysed)
        extracted = await run_extract(ctx)
        steps["extract"] = figures(extracted, extracted.data.get("rows"))
        steps["extract"]["units"] = {
            line.split()[0]: line.split(None, 1)[1] for line in extracted.lines if "rows/s" in line and "." in line
        }
        backfilled = await run_backfill(ctx)
        steps["backfill"] = figures(backfilled, sum(backfilled.data["written"].values()))
        verified = await run_verify(ctx)
        checked = sum(t["rows"] for t in verified.data["tables"].values())
        steps["verify"] = figures(verified, checked)
        changed = await burst(source)
        synced = await run_sync(ctx)
        steps["sync"] = figures(synced, changed)
        steps["sync"]["events"] = synced.data["services"]["employee"]["events"]
        compared = await run_compare(ctx)
        steps["compare"] = figures(compared)
        total = sum(v["seconds"] for k, v in steps.items() if k in ("analyse", "extract", "backfill", "verify"))
        report["steps"] = steps
        report["run_total_s"] = round(total, 1)
        report["run_rows_per_s"] = round(extracted.data.get("rows", 0) / total) if total else None
    finally:
        pg.stop()
        if not ns.keep:
            shutil.rmtree(root, ignore_errors=True)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description="Time erp migrate-monolith on a generated monolith.")
    parser.add_argument("--employees", type=int, default=10_000)
    parser.add_argument("--keep", help="keep the server and data in this folder (reuse with --reuse)")
    parser.add_argument("--reuse", action="store_true", help="the monolith in --keep is already generated")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--durable", action="store_true", help="fsync on (off by default, like the test server)")
    parser.add_argument("--progress", action="store_true", help="show the progress bars on stderr")
    print(json.dumps(asyncio.run(main_async(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
