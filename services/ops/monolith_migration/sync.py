"""Step 5a (spec phase 3, "Implement Data Sync"): while the monolith still takes writes, bring
what changed there to the services, each change exactly once.

Capture: `sync --install` puts row triggers on every monolith table a service takes over (see
capture.py); they append (table, op, key, row, transaction id, seq) to erp_migration.erp_changes.
Install it before extract: extract records its snapshot per unit, and changes that snapshot
already contains are skipped.

A pass:
1. The horizon: the last seq handed out, then a snapshot, then a wait until every transaction
   that snapshot saw in progress has ended. Every change with seq <= horizon is then committed or
   gone for good, so a cursor never jumps over a change that commits late.
2. Per service database, the changes after its cursor (`erp_migration.state`, key `sync.cursor`)
   up to the horizon, in seq order and in batches; each batch is applied in one transaction of
   that database together with the new cursor, so a change is applied once even if the tool dies
   mid-pass.
3. Applying = re-reading the changed rows' current state from the monolith with the plan's own
   expressions (derived columns included), comparing with the target row and writing only what
   differs: inserts, updates (columns marked keep_on_update are left alone), deletes. Dependent
   rows follow (a customer's balance when one of its invoices changes; derived tables re-derived),
   and the backfills whose inputs changed run for the changed keys (employee cache, accounting
   cache, number sequences, billing's read model).
4. Employee and department changes go through the employee service's write path: the rows, their
   event_store rows and their outbox rows commit in one `UnitOfWork` (services.runtime.db), so
   EmployeeCreated/Updated/Terminated/Rehired and DepartmentCreated/Updated reach the other services
   through the relay as if the service had made the change. Rows keep the monolith's ids and
   versions (the gRPC API would assign its own ids, so it is not used). Other tables are applied
   directly: their services take no writes before their cutover.

A service that has been cut over is skipped (it owns its data); caches it keeps of a service not
yet cut over (finance's accounting cache) are still refreshed, since no events feed them yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import asyncpg
from google.protobuf.message import Message
from sqlalchemy import text

from services.ops.monolith_migration import capture
from services.ops.monolith_migration import plan as plan_mod
from services.ops.monolith_migration.backfill import BACKFILLS, Backfill, merge, run_one
from services.ops.monolith_migration.common import (
    Context,
    MigrationError,
    StepResult,
    done_units,
    ensure_state,
    get_state,
    ident,
    progress_bar,
    set_state,
    targets,
    timed,
    visible_in_snapshot,
)
from services.ops.monolith_migration.plan import Plan, PlanTable
from services.ops.monolith_migration.schema import owners, source_tables
from services.runtime import context
from services.runtime.db import Database

BATCH = 5_000
HORIZON_TIMEOUT_S = 120.0
OWNED = ("cut_over", "finalised")

Recorder = Callable[..., uuid.UUID]


@dataclass
class Change:
    seq: int
    txid: int
    table: str
    op: str
    pk: dict[str, Any]
    row: dict[str, Any] | None
    old: dict[str, Any] | None


@dataclass
class TableDiff:
    inserted: list[dict[str, Any]] = field(default_factory=list)
    updated: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # (before, after)
    deleted: list[dict[str, Any]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.inserted) + len(self.updated) + len(self.deleted)


@dataclass
class ServiceStats:
    changes: int = 0
    skipped: int = 0
    written: dict[str, list[int]] = field(default_factory=dict)  # table -> [inserted, updated, deleted]
    backfilled: dict[str, int] = field(default_factory=dict)
    events: int = 0
    notes: list[str] = field(default_factory=list)

    def line(self, service: str) -> str:
        tables = ", ".join(f"{t} +{i}/~{u}/-{d}" for t, (i, u, d) in self.written.items() if i or u or d)
        caches = ", ".join(f"{b} {n}" for b, n in self.backfilled.items() if n)
        return (
            f"{service:<13} {self.changes:>6} changes ({self.skipped} already in the copy)"
            + (f"; rows {tables}" if tables else "")
            + (f"; caches {caches}" if caches else "")
            + (f"; {self.events} events" if self.events else "")
        )


async def cutover_status(conn: asyncpg.Connection) -> str | None:
    state = await get_state(conn, "cutover")
    return str(state["status"]) if state else None


async def horizon(src: asyncpg.Connection, timeout_s: float = HORIZON_TIMEOUT_S) -> int:
    """The highest seq whose fate is sealed: read the last seq handed out, then wait until every
    transaction that was writing to the change table at that moment has ended. A writer takes
    its ROW EXCLUSIVE lock on the change table before it draws a seq and keeps it until it ends,
    so no change <= the returned seq can still commit later; writers that draw a seq afterwards
    get a higher one. Only those writers are waited for (not unrelated transactions), and
    nothing is blocked."""
    high = await src.fetchval(
        "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM "
        + str(await src.fetchval("SELECT pg_get_serial_sequence($1, 'seq')", capture.CHANGES))
    )
    holders = _WRITERS + " AND pid <> pg_backend_pid()"
    writing = [r[0] for r in await src.fetch(holders, capture.CHANGES)]
    deadline = time.monotonic() + timeout_s
    while writing:
        writing = [
            r[0] for r in await src.fetch(holders + " AND virtualtransaction = ANY($2)", capture.CHANGES, writing)
        ]
        if not writing:
            break
        if time.monotonic() > deadline:
            raise MigrationError(
                f"monolith transactions {', '.join(writing)} are still open after {timeout_s:.0f} s; sync again later"
            )
        await asyncio.sleep(0.05)
    return int(high)


_WRITERS = (
    "SELECT DISTINCT virtualtransaction FROM pg_locks "
    "WHERE relation = $1::regclass AND mode = 'RowExclusiveLock' AND granted"
)


def _employee_db(ctx: Context) -> Database:
    settings = replace(ctx.settings, pool_size=1, statement_timeout_ms=0)
    return Database(settings.service_database_url("employee"), settings, "employee")


@contextlib.asynccontextmanager
async def transaction(
    service: str, dst: asyncpg.Connection, db: Database | None
) -> AsyncIterator[tuple[asyncpg.Connection, Recorder | None]]:
    """One transaction of the service's database; for the employee service, its unit of work
    (the raw connection of the unit's session, plus `record` for events)."""
    if db is None:
        async with dst.transaction():
            yield dst, None
        return
    with context.bound(context.CallContext()):
        async with db.unit_of_work() as uow:
            await uow.session.execute(text("SET LOCAL TIME ZONE 'UTC'"))
            raw = await (await uow.session.connection()).get_raw_connection()
            yield raw.driver_connection, uow.record


def _as_key(value: Any) -> str | None:
    return None if value is None else str(value)


def keys_for(
    table: PlanTable, changes: list[Change], snapshot: str | None
) -> tuple[set[str], bool, int, dict[str, set[str]]]:
    """The keys of `table` that `changes` touch, whether it must be re-derived whole, how many
    changes its copy already contained (skipped), and the changed keys of tables it refers to
    through `refresh_via` (resolved against the source by the caller)."""
    keys: set[str] = set()
    via: dict[str, set[str]] = {}
    full = False
    skipped = 0
    for ch in changes:
        direct = table.source == ch.table and table.source_key is not None
        dependent = ch.table in table.refresh_on
        referred = ch.table in table.refresh_via
        whole = ch.table in table.inputs
        if not (direct or dependent or referred or whole):
            continue
        if visible_in_snapshot(ch.txid, snapshot):
            skipped += 1
            continue
        if whole:
            full = True
        if referred and (k := _as_key(ch.pk.get("id"))) is not None:
            via.setdefault(ch.table, set()).add(k)
        column = table.source_key if direct else table.refresh_on.get(ch.table)
        if column is None:
            continue
        for image in (ch.row, ch.old, ch.pk):
            if image and (k := _as_key(image.get(column))) is not None:
                keys.add(k)
    return keys, full, skipped, via


async def resolve_via(table: PlanTable, src: asyncpg.Connection, via: dict[str, set[str]]) -> set[str]:
    """Keys of `table` whose rows refer to changed rows of other tables (e.g. budgets of a renamed
    department), looked up in the source."""
    found: set[str] = set()
    for source_table, changed in via.items():
        expr = table.refresh_via[source_table]
        rows = await src.fetch(
            f"SELECT ({table.key_expr})::text FROM {table.from_} WHERE ({expr})::text = ANY($1::text[])",
            sorted(changed),
        )
        found |= {r[0] for r in rows}
    return found


async def diff_table(
    table: PlanTable, src: asyncpg.Connection, dst: asyncpg.Connection, keys: set[str] | None
) -> TableDiff:
    """Source rows (current state, plan expressions) vs target rows for `keys` (None: all)."""
    cols = [c.name for c in table.columns]
    # json values compare as text (the employee database's connection decodes jsonb itself)
    target_cols = ", ".join(
        f"CAST(t.{ident(c.name)} AS {c.type}){'::text' if c.type in ('json', 'jsonb') else ''} AS {ident(c.name)}"
        for c in table.columns
    )
    if keys is None:
        source_rows = await src.fetch(table.select())
        target_rows = await dst.fetch(f"SELECT {target_cols} FROM {ident(table.table)} t")
    else:
        wanted = sorted(keys)
        source_rows = await src.fetch(table.select_keys(), wanted)
        target_rows = await dst.fetch(
            f"SELECT {target_cols} FROM {ident(table.table)} t "
            f"WHERE t.{ident(table.key)} = ANY($1::text[]::{table.key_type}[])",
            wanted,
        )
    have = {str(r[table.key]): dict(r) for r in target_rows}
    want = {str(r[table.key]): dict(r) for r in source_rows}
    out = TableDiff()
    compared = [c for c in cols if not table.column(c).keep_on_update and c not in table.deferred]
    for k, row in want.items():
        before = have.get(k)
        if before is None:
            out.inserted.append(row)
        elif any(before[c] != row[c] for c in compared) or any(before[c] != row[c] for c in table.deferred):
            out.updated.append((before, row))
    out.deleted = [row for k, row in have.items() if k not in want]
    return out


async def write_diff(table: PlanTable, dst: asyncpg.Connection, diff: TableDiff) -> None:
    """Inserts and updates (deferred columns NULL on insert, set by `write_deferred`)."""
    if not diff.inserted and not diff.updated:
        return
    cols = [c.name for c in table.columns]
    keep = [c.name for c in table.columns if c.keep_on_update] + table.deferred
    records = [tuple(None if c in table.deferred else r[c] for c in cols) for r in diff.inserted]
    records += [tuple(after[c] for c in cols) for _, after in diff.updated]
    await merge(dst, table.table, [table.key], cols, records, delete_scope=None, keep=keep)


async def write_deferred(table: PlanTable, dst: asyncpg.Connection, diff: TableDiff) -> None:
    for column in table.deferred:
        rows = [(r[table.key], r[column]) for r in diff.inserted + [a for _, a in diff.updated]]
        if rows:
            await dst.executemany(
                f"UPDATE {ident(table.table)} SET {ident(column)} = $2 "
                f"WHERE {ident(table.key)} = $1 AND {ident(column)} IS DISTINCT FROM $2",
                rows,
            )


async def delete_rows(table: PlanTable, dst: asyncpg.Connection, diff: TableDiff) -> None:
    if diff.deleted:
        await dst.execute(
            f"DELETE FROM {ident(table.table)} WHERE {ident(table.key)} = ANY($1::text[]::{table.key_type}[])",
            [str(r[table.key]) for r in diff.deleted],
        )


# ---- employee events ----------------------------------------------------------------------------

EMPLOYEE_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone_number",
    "job_title",
    "salary",
    "hire_date",
    "termination_date",
    "status",
    "department_id",
    "social_security_number",
    "bank_account_number",
)
DEPARTMENT_FIELDS = ("name", "code", "manager_id", "budget_code")


async def record_employee_events(
    conn: asyncpg.Connection, record: Recorder, diffs: dict[str, TableDiff], stats: ServiceStats
) -> None:
    from erp.employee.v1 import events_pb2 as ev

    from services.employee import mapping
    from services.employee.tables import Department, Employee
    from services.runtime.convert import date_to_pb, decimal_to_pb, str_or_empty

    def emit(message: Message, aggregate_type: str, aggregate_id: Any, version: int | None) -> None:
        record(message, aggregate_type=aggregate_type, aggregate_id=aggregate_id, version=version)
        stats.events += 1

    departments = diffs.get("departments", TableDiff())
    for row in departments.inserted:
        emit(
            mapping.department_created(Department(**_fields(row, ("id", *DEPARTMENT_FIELDS)))),
            "Department",
            row["id"],
            None,
        )
    for before, after in departments.updated:
        changed = [f for f in DEPARTMENT_FIELDS if before[f] != after[f]]
        if changed:
            dept = Department(**_fields(after, ("id", *DEPARTMENT_FIELDS)))
            emit(mapping.department_updated(dept, changed), "Department", after["id"], None)
    employees = diffs.get("employees", TableDiff())
    wanted = {r["department_id"] for r in employees.inserted} | {a["department_id"] for _, a in employees.updated}
    names = {
        r["id"]: r["name"]
        for r in await conn.fetch(
            "SELECT id, name FROM departments WHERE id = ANY($1::uuid[])", [w for w in wanted if w]
        )
    }
    for row in employees.inserted:
        emp = Employee(**_fields(row, ("id", "version", *EMPLOYEE_FIELDS)))
        emit(mapping.employee_created(emp, names.get(row["department_id"], "")), "Employee", row["id"], emp.version)
    for before, after in employees.updated:
        changed = [f for f in EMPLOYEE_FIELDS if before[f] != after[f]]
        if not changed:
            continue
        emp = Employee(**_fields(after, ("id", "version", *EMPLOYEE_FIELDS)))
        version = int(after["version"])
        terminated = before["status"] != "terminated" and after["status"] == "terminated"
        rehired = before["status"] == "terminated" and after["status"] != "terminated"
        if terminated and set(changed) <= {"status", "termination_date"}:
            message: Message = ev.EmployeeTerminated(
                employee_id=str(emp.id), termination_date=date_to_pb(emp.termination_date), version=version
            )
        elif rehired:
            message = ev.EmployeeRehired(
                employee_id=str(emp.id),
                hire_date=date_to_pb(emp.hire_date),
                salary=decimal_to_pb(emp.salary),
                department_id=str_or_empty(emp.department_id),
                department_name=names.get(after["department_id"], ""),
                version=version,
            )
        else:
            dept_name = names.get(after["department_id"]) if "department_id" in changed else None
            message = mapping.employee_updated(emp, changed, dept_name)
        emit(message, "Employee", after["id"], version)
    for kind, diff in (("employee", employees), ("department", departments)):
        if diff.deleted:
            stats.notes.append(
                f"{len(diff.deleted)} {kind}(s) deleted in the monolith were deleted in employee_db "
                "(the contracts have no deletion event: other services keep their copies)"
            )


def _fields(row: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {n: row[n] for n in names if n in row}


# ---- one service ---------------------------------------------------------------------------------


async def _changes(src: asyncpg.Connection, after: int, upto: int, tables: list[str]) -> list[Change]:
    rows = await src.fetch(
        f'SELECT seq, txid::text::bigint AS txid, table_name, op, pk, "row", old FROM {capture.CHANGES} '
        f"WHERE seq > $1 AND seq <= $2 AND table_name = ANY($3::text[]) ORDER BY seq LIMIT {BATCH}",
        after,
        upto,
        tables,
    )
    return [
        Change(
            r["seq"],
            r["txid"],
            r["table_name"],
            r["op"],
            json.loads(r["pk"]) if r["pk"] else {},
            json.loads(r["row"]) if r["row"] else None,
            json.loads(r["old"]) if r["old"] else None,
        )
        for r in rows
    ]


def backfills_for(service: str, owned: set[str]) -> list[Backfill]:
    """Backfills sync keeps running for `service`: not for a cut-over service's own data, and
    not for caches whose feeder was cut over (its events feed them now)."""
    return [b for b in BACKFILLS if b.service == service and b.feeder not in owned]


async def sync_service(
    ctx: Context,
    plan: Plan,
    service: str,
    src: asyncpg.Connection,
    dst: asyncpg.Connection,
    db: Database | None,
    upto: int,
    owned: set[str],
) -> ServiceStats:
    stats = ServiceStats()
    tables = [] if service in owned else plan.tables_of(service)
    backfills = backfills_for(service, owned)
    relevant = sorted({s for t in tables for s in t.depends_on_sources} | {s for b in backfills for s in b.inputs})
    snapshots: dict[str, str | None] = {}
    for unit_name, unit_row in (await done_units(dst)).items():
        unit = next((u for u in plan.units if u.name == unit_name), None)
        if unit is not None and unit.deferred_column is None:
            for t in unit.tables:
                snapshots[t] = unit_row["source_snapshot"]
    cursor = int(await get_state(dst, "sync.cursor") or 0)
    while cursor < upto:
        batch = await _changes(src, cursor, upto, relevant)
        next_cursor = batch[-1].seq if len(batch) == BATCH else upto
        truncated = [c for c in batch if c.op == "TRUNCATE"]
        if truncated:
            raise MigrationError(
                f"monolith table {truncated[0].table} was truncated (change {truncated[0].seq}): "
                f"re-extract {service} instead of syncing it"
            )
        async with transaction(service, dst, db if batch else None) as (conn, record):
            await apply_batch(plan, service, tables, backfills, batch, snapshots, src, conn, record, stats)
            await set_state(conn, "sync.cursor", next_cursor)
        stats.changes += len(batch)
        cursor = next_cursor
    return stats


async def apply_batch(
    plan: Plan,
    service: str,
    tables: list[PlanTable],
    backfills: list[Backfill],
    batch: list[Change],
    snapshots: dict[str, str | None],
    src: asyncpg.Connection,
    conn: asyncpg.Connection,
    record: Recorder | None,
    stats: ServiceStats,
) -> None:
    if not batch:
        return
    diffs: dict[str, TableDiff] = {}
    for table in tables:
        keys, full, skipped, via = keys_for(table, batch, snapshots.get(table.table))
        stats.skipped += skipped
        if via:
            keys |= await resolve_via(table, src, via)
        if not keys and not full:
            continue
        diff = await diff_table(table, src, conn, None if full else keys)
        await write_diff(table, conn, diff)
        diffs[table.table] = diff
    for table in tables:
        if table.table in diffs:
            await write_deferred(table, conn, diffs[table.table])
    for table in reversed(tables):
        if table.table in diffs:
            await delete_rows(table, conn, diffs[table.table])
    for name, diff in diffs.items():
        counts = stats.written.setdefault(name, [0, 0, 0])
        counts[0] += len(diff.inserted)
        counts[1] += len(diff.updated)
        counts[2] += len(diff.deleted)
    if record is not None:
        await record_employee_events(conn, record, diffs, stats)
    changed: dict[str, set[str]] = {}
    for ch in batch:
        for image in (ch.pk, ch.row, ch.old):
            if image and "id" in image and image["id"] is not None:
                changed.setdefault(ch.table, set()).add(str(image["id"]))
    for backfill in backfills:
        if set(backfill.inputs) & set(changed):
            n = await run_one(backfill, src, conn, plan, changed, stats.notes)
            stats.backfilled[backfill.name] = stats.backfilled.get(backfill.name, 0) + n


async def sync_pass(
    ctx: Context, plan: Plan, src: asyncpg.Connection, conns: dict[str, asyncpg.Connection], result: StepResult
) -> dict[str, ServiceStats]:
    if not await capture.installed(src, ctx.source_schema):
        raise MigrationError("change capture is not installed on the monolith: run `sync --install` first")
    upto = await horizon(src)
    owned = {s for s, c in conns.items() if await cutover_status(c) in OWNED}
    out: dict[str, ServiceStats] = {}
    db = _employee_db(ctx) if "employee" in conns and "employee" not in owned else None
    try:
        with progress_bar(ctx, "sync", len(conns)) as advance:
            for service, dst in conns.items():
                out[service] = await sync_service(
                    ctx, plan, service, src, dst, db if service == "employee" else None, upto, owned
                )
                advance(1, service)
    finally:
        if db is not None:
            await db.dispose()
    result.data["horizon"] = upto
    services = result.data.setdefault("services", {})
    for service, stats in out.items():
        seen = services.setdefault(service, {"changes": 0, "skipped": 0, "events": 0, "written": {}})
        seen["changes"] += stats.changes
        seen["skipped"] += stats.skipped
        seen["events"] += stats.events
        for table, counts in stats.written.items():
            previous = seen["written"].get(table, [0, 0, 0])
            seen["written"][table] = [a + b for a, b in zip(previous, counts, strict=True)]
    for service, stats in out.items():
        result.lines.append(stats.line(service) + ("  [cut over: own tables skipped]" if service in owned else ""))
        result.lines += [f"  note: {n}" for n in stats.notes]
    return out


async def install(ctx: Context, src: asyncpg.Connection, result: StepResult) -> None:
    """Capture every monolith table a service owns (no plan needed: install it first)."""
    catalog = await source_tables(src, ctx.source_schema)
    wanted = set(owners())
    chosen = {name: catalog[name].primary_key for name in sorted(wanted) if name in catalog}
    without_key = sorted(n for n, k in chosen.items() if not k)
    if without_key:
        raise MigrationError(f"monolith tables without a primary key cannot be captured: {', '.join(without_key)}")
    added = await capture.install(src, ctx.source_schema, chosen)
    result.lines.append(
        f"change capture on {len(chosen)} monolith tables ({len(added)} newly): "
        f"AFTER INSERT/UPDATE/DELETE/TRUNCATE triggers -> {capture.CHANGES}"
    )


async def run_sync(
    ctx: Context,
    *,
    install_capture: bool = False,
    uninstall_capture: bool = False,
    follow_s: float | None = None,
) -> StepResult:
    result = StepResult("sync")
    with timed(result):
        async with ctx.connected_source() as src:
            if uninstall_capture:
                removed = await capture.uninstall(src, ctx.source_schema)
                result.lines.append(f"change capture removed from {len(removed)} tables (the change table stays)")
                return result
            if install_capture:
                await install(ctx, src, result)
                return result
            plan = plan_mod.load(ctx.plan_path)
            services = plan.services()
            await ensure_databases_exist(ctx, services)
            async with targets(ctx, services) as conns:
                for conn in conns.values():
                    await ensure_state(conn)
                uncaptured = sorted(
                    {u for c in conns.values() for u in (await get_state(c, "extract.uncaptured_units")) or []}
                )
                if uncaptured:
                    result.warnings.append(
                        f"{len(uncaptured)} units were copied before change capture was installed: monolith writes "
                        "between those copies and the installation are not in the change log (compare finds them)"
                    )
                while True:
                    await sync_pass(ctx, plan, src, conns, result)
                    if follow_s is None:
                        break
                    ctx.console.print("\n".join(result.lines))  # one summary per pass
                    result.lines.clear()
                    try:
                        await asyncio.sleep(follow_s)
                    except asyncio.CancelledError:  # Ctrl-C ends a follow loop between passes
                        break
    return result


async def ensure_databases_exist(ctx: Context, services: list[str]) -> None:
    for service in services:
        try:
            conn = await ctx.target(service)
        except asyncpg.InvalidCatalogNameError:
            raise MigrationError(f"{ctx.settings.database_name(service)} does not exist: run extract first") from None
        await conn.close()
