"""Step 2 (spec phase 2, "Extract Databases"): create the eight databases, migrate them with the
services' own Alembic histories, then stream every planned table from the monolith.

- One REPEATABLE READ, READ ONLY transaction on the source: every table comes from the same
  snapshot and the source holds nothing stronger than ACCESS SHARE locks (writers never wait).
- Each table streams as binary COPY (`copy_from_query` on the source piped into `copy_to_table`
  on the target in chunks), with every value cast on the source side to the target column's base
  type, so any column intersection/derivation the plan names arrives as the target expects it.
- A unit (a table, or tables that must commit together, or a deferred column of a foreign key
  cycle) commits together with its "done" row in the target's `erp_migration.units`: an
  interrupted extract leaves no partial table behind, and the next run starts at the first unit
  not marked done (after emptying what the target's own migrations may have seeded there).
- The source snapshot is recorded per unit, so sync knows which captured changes a copy already
  contains.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import asyncpg

from services.ops.monolith_migration import capture
from services.ops.monolith_migration import plan as plan_mod
from services.ops.monolith_migration.common import (
    Context,
    MigrationError,
    StepResult,
    done_units,
    ensure_state,
    fmt_rate,
    get_state,
    ident,
    mark_unit,
    pipe,
    progress_bar,
    set_state,
    targets,
    timed,
)
from services.ops.monolith_migration.plan import Plan, PlanUnit
from services.ops.monolith_migration.transforms import SEEDED_BY_MIGRATIONS
from services.runtime.migrations import ensure_databases, upgrade


async def prepare_targets(ctx: Context, services: list[str]) -> list[str]:
    """Create missing databases, migrate each to head (Alembic runs its own loop: in a thread),
    and create the state schema. Returns the databases created."""
    created = await ensure_databases(ctx.settings, services)
    for service in services:
        await asyncio.to_thread(upgrade, ctx.settings, service)
    async with targets(ctx, services) as conns:
        for conn in conns.values():
            await ensure_state(conn)
    return created


async def copy_unit(
    ctx: Context,
    plan: Plan,
    unit: PlanUnit,
    src: asyncpg.Connection,
    dst: asyncpg.Connection,
    advance: Callable[[int], None],
) -> int:
    rows = 0
    if unit.deferred_column is not None:
        table = plan.table(unit.service, unit.tables[0])
        column = table.column(unit.deferred_column)
        await dst.execute(f"CREATE TEMP TABLE erp_deferred (k {table.key_type}, v {column.type}) ON COMMIT DROP")
        query = (
            f"SELECT CAST({table.key_expr} AS {table.key_type}), CAST({column.expr} AS {column.type}) "
            f"FROM {table.from_} WHERE ({column.expr}) IS NOT NULL"
        )
        await pipe(src, query, dst, "erp_deferred", ["k", "v"], hooks=ctx.hooks, label=unit.name, on_bytes=advance)
        status = await dst.execute(
            f"UPDATE {ident(table.table)} t SET {ident(column.name)} = d.v FROM erp_deferred d "
            f"WHERE t.{ident(table.key)} = d.k AND t.{ident(column.name)} IS DISTINCT FROM d.v"
        )
        return int(status.split()[-1])
    disabled = await _disable_triggers(dst, unit.disable_triggers)
    for name in reversed(unit.tables):
        present = await dst.fetchval(f"SELECT count(*) FROM {ident(name)}")
        if present and (unit.service, name) not in SEEDED_BY_MIGRATIONS:
            raise MigrationError(
                f"{ctx.settings.database_name(unit.service)}.{name} already holds {present} rows this tool did not "
                "copy: extract fills empty databases only (drop the database, or empty the table)"
            )
        # Rows the service's own migration seeded (the standard chart) make way for the monolith's.
        await dst.execute(f"DELETE FROM {ident(name)}")
    for name in unit.tables:
        table = plan.table(unit.service, name)
        rows += await pipe(
            src,
            table.select(deferred_null=True),
            dst,
            name,
            [c.name for c in table.columns],
            hooks=ctx.hooks,
            label=table.name,
            on_bytes=advance,
        )
    if unit.check_sql:
        offending = await dst.fetch(unit.check_sql)
        if offending:
            shown = "; ".join(", ".join(f"{k}={v}" for k, v in r.items()) for r in offending)
            raise MigrationError(f"{unit.name}: the copy breaks the target's rules, nothing committed: {shown}")
    for table_name, trigger in disabled:
        await dst.execute(f"ALTER TABLE {ident(table_name)} ENABLE TRIGGER {ident(trigger)}")
    return rows


async def _disable_triggers(dst: asyncpg.Connection, names: list[str]) -> list[tuple[str, str]]:
    """Disable the named triggers that exist (inside the unit's transaction)."""
    disabled = []
    for name in names:
        table, trigger = name.split(".", 1)
        exists = await dst.fetchval(
            "SELECT 1 FROM pg_trigger WHERE tgname = $1 AND tgrelid = to_regclass($2)", trigger, table
        )
        if exists:
            await dst.execute(f"ALTER TABLE {ident(table)} DISABLE TRIGGER {ident(trigger)}")
            disabled.append((table, trigger))
    return disabled


async def source_identity(src: asyncpg.Connection) -> str:
    row = await src.fetchrow("SELECT current_database() AS db, inet_server_port() AS port")
    assert row is not None
    return f"{row['db']}@{row['port'] or 'local'}"


async def run_extract(ctx: Context, services: list[str] | None = None) -> StepResult:
    result = StepResult("extract")
    with timed(result):
        plan = plan_mod.load(ctx.plan_path)
        if plan.problems:
            raise MigrationError(
                "the plan lists problems; fix them (or the plan) and analyse again:\n  - "
                + "\n  - ".join(plan.problems)
            )
        chosen = [s for s in plan.services() if services is None or s in services]
        created = await prepare_targets(ctx, chosen)
        if created:
            result.lines.append(f"created {', '.join(created)}")
        result.lines.append(f"migrated {len(chosen)} databases to head with the services' own migrations")
        async with ctx.connected_source() as src, targets(ctx, chosen) as conns:
            await _extract(ctx, plan, chosen, src, conns, result)
    return result


async def _extract(
    ctx: Context,
    plan: Plan,
    chosen: list[str],
    src: asyncpg.Connection,
    conns: dict[str, asyncpg.Connection],
    result: StepResult,
) -> None:
    identity = await source_identity(src)
    done: dict[str, dict[str, asyncpg.Record]] = {}
    for service in chosen:
        recorded = await get_state(conns[service], "source")
        if recorded and recorded.get("identity") != identity:
            raise MigrationError(
                f"{ctx.settings.database_name(service)} was filled from {recorded.get('identity')}, not {identity}"
            )
        done[service] = await done_units(conns[service])
    todo = [u for u in plan.units if u.service in chosen and u.name not in done[u.service]]
    skipped = [u for u in plan.units if u.service in chosen and u.name in done[u.service]]
    if skipped:
        result.lines.append(f"{len(skipped)} units already copied (kept): {', '.join(u.name for u in skipped)}")
    if not todo:
        result.lines.append("nothing left to copy")
        result.data["copied"] = {}
        return
    captured = await capture.installed(src, ctx.source_schema)
    copied: dict[str, int] = {}
    total_rows, total_s = 0, 0.0
    snapshot_tx = src.transaction(isolation="repeatable_read", readonly=True)
    await snapshot_tx.start()
    try:
        snapshot = str(await src.fetchval("SELECT pg_current_snapshot()::text"))
        with progress_bar(ctx, "extract", len(todo)) as advance:
            mb = [0.0]

            def on_bytes(n: int) -> None:
                mb[0] += n / 1e6
                advance(0, f"{mb[0]:,.0f} MB")

            for unit in todo:
                if ctx.hooks.before_unit is not None:
                    await ctx.hooks.before_unit(unit.name)
                dst = conns[unit.service]
                started = time.perf_counter()
                async with dst.transaction():
                    rows = await copy_unit(ctx, plan, unit, src, dst, on_bytes)
                    seconds = time.perf_counter() - started  # recorded without the commit
                    await mark_unit(dst, unit.name, rows=rows, seconds=seconds, snapshot=snapshot, database=identity)
                    await set_state(dst, "source", {"identity": identity, "plan": plan.fingerprint()})
                    if not captured:
                        uncaptured = set(await get_state(dst, "extract.uncaptured_units") or [])
                        await set_state(dst, "extract.uncaptured_units", sorted(uncaptured | {unit.name}))
                seconds = time.perf_counter() - started  # reported with the commit (deferred checks run there)
                copied[unit.name] = rows
                total_rows += rows
                total_s += seconds
                result.lines.append(f"{unit.name:<50} {rows:>10,} rows {seconds:8.2f} s  {fmt_rate(rows, seconds)}")
                advance(1, unit.name)
    finally:
        if not src.is_closed():
            with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError):
                await snapshot_tx.rollback()  # read-only: nothing to keep
    for service in {u.service for u in todo}:
        await conns[service].execute("ANALYZE")
    result.lines.append(f"copied {total_rows:,} rows in {total_s:.1f} s ({fmt_rate(total_rows, total_s)})")
    if not captured:
        result.warnings.append(
            "change capture is not installed on the monolith: writes made after this snapshot reach the services "
            "only by another extract (install it before extracting for a parallel run: sync --install)"
        )
    result.data["copied"] = copied
    result.data["rows"] = total_rows
    result.data["snapshot"] = snapshot
