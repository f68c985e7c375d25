"""Step 1 (spec phase 1, "Prepare for Separation"): discover every foreign key of the monolith with
the spec's information_schema query and decide what becomes of it, find tables no service owns,
and check that the target can take the monolith's rows (NOT NULL columns the source may leave
empty). Writes the plan file; an existing plan is kept (it may hold edits) unless --replace.

A key between two tables of one service is kept (the target schema says whether it keeps the
constraint). A key across services becomes a logical reference: the target must have no constraint,
should carry a column comment naming the target, and the contracts should declare the matching
`(erp.common.v1.ref)` option on the field stored in that column; every missing piece is reported.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
from erp.common.v1 import options_pb2
from google.protobuf import descriptor_pool

from services.ops.monolith_migration import plan as plan_mod
from services.ops.monolith_migration.common import Context, StepResult, ident, progress_bar, timed
from services.ops.monolith_migration.plan import Plan, PlanForeignKey, PlanTable
from services.ops.monolith_migration.schema import (
    SourceForeignKey,
    TargetTable,
    owners,
    source_foreign_keys,
    source_tables,
    target_tables,
)
from services.ops.monolith_migration.transforms import RULES
from services.runtime.events import service_of
from services.runtime.redaction import contract_modules


@dataclass(frozen=True)
class ProtoRef:
    message: str  # the message storing the column, e.g. erp.payroll.v1.PayrollRecord
    field: str
    target_message: str
    target_table: str
    target_field: str

    def __str__(self) -> str:
        return f"{self.message}.{self.field} (ref {self.target_message}.{self.target_field})"


@functools.cache
def proto_refs() -> dict[tuple[str, str, str], ProtoRef]:
    """(service, table, column) -> the contract's `(ref)` option on the field stored there."""
    pool = descriptor_pool.Default()
    found: dict[tuple[str, str, str], ProtoRef] = {}
    for module in contract_modules():
        for message in module.DESCRIPTOR.message_types_by_name.values():
            table = message.GetOptions().Extensions[options_pb2.table]
            if not table:
                continue
            for f in message.fields:
                ref = f.GetOptions().Extensions[options_pb2.ref]
                if not ref.target:
                    continue
                target = pool.FindMessageTypeByName(ref.target)
                found[(service_of(message.full_name), table, f.name)] = ProtoRef(
                    message.full_name,
                    f.name,
                    ref.target,
                    target.GetOptions().Extensions[options_pb2.table],
                    ref.target_field or "id",
                )
    return found


def classify(
    fk: SourceForeignKey, ownership: dict[str, str], targets: dict[str, dict[str, TargetTable]]
) -> PlanForeignKey:
    service, ref_service = ownership.get(fk.table), ownership.get(fk.ref_table)
    out = PlanForeignKey(fk.constraint, fk.table, fk.column, fk.ref_table, fk.ref_column, service, ref_service, "")
    if service is None or ref_service is None:
        out.action = "not_migrated"
        out.notes.append("a table of this key belongs to no service")
        return out
    rules = RULES.get((service, fk.table))
    renamed = rules.replaces.get(fk.column) if rules else None
    column = renamed or fk.column
    out.target_column = column
    target = targets[service][fk.table]
    tcol = target.column(column)
    out.target_constraint = any(f.column == column and f.ref_table == fk.ref_table for f in target.foreign_keys)
    out.comment = tcol.comment if tcol else None
    if tcol is None:
        out.notes.append(f"the target table has no column {column}: the reference is not migrated")
    if renamed:
        out.notes.append(f"stored as {column} in the target (derived from {fk.column})")
    if service == ref_service:
        out.action = "keep"
        if not out.target_constraint:
            out.notes.append(f"inside {service}_db the target schema keeps no constraint for it")
        return out
    out.action = "logical_reference"
    if out.target_constraint:
        out.notes.append("PROBLEM: the target declares a constraint to another service's table")
    if tcol is not None and not (tcol.comment and "logical reference" in tcol.comment.lower()):
        out.notes.append("no column comment naming the target (spec phase 1 step 2)")
    ref = proto_refs().get((service, fk.table, column))
    if ref is None:
        out.notes.append("no (erp.common.v1.ref) option on the contract field stored in this column")
    elif ref.target_table != fk.ref_table or (not renamed and ref.target_field != fk.ref_column):
        out.notes.append(f"the contract's ref option points elsewhere: {ref}")
    else:
        out.proto_option = str(ref)
    return out


async def _null_preflight(ctx: Context, conn: asyncpg.Connection, tables: dict[str, PlanTable]) -> list[str]:
    """Target NOT NULL columns whose source expression is NULL for some monolith rows."""
    targets = target_tables()
    problems: list[str] = []
    with progress_bar(ctx, "preflight", len(tables)) as advance:
        for table in tables.values():
            tt = targets[table.service][table.table]
            checked = [
                c
                for c in table.columns
                if (tc := tt.column(c.name)) is not None
                and not tc.nullable
                and not (c.origin == "copied" and c.expr.startswith("coalesce("))
                and c.name not in table.deferred
            ]
            if checked:
                counts = ", ".join(f"count(*) FILTER (WHERE ({c.expr}) IS NULL) AS {ident(c.name)}" for c in checked)
                row = await conn.fetchrow(f"SELECT {counts} FROM {table.from_}")
                assert row is not None
                for c in checked:
                    if row[c.name]:
                        problems.append(
                            f"{table.name}.{c.name}: {row[c.name]} monolith rows would be NULL "
                            f"(the target requires a value; expression {c.expr})"
                        )
            advance(1, table.name)
    return problems


async def analyse(ctx: Context) -> Plan:
    async with ctx.connected_source() as conn:
        source = await source_tables(conn, ctx.source_schema)
        fks = await source_foreign_keys(conn, ctx.source_schema)
        targets = target_tables()
        owner_map = owners()
        ownership: dict[str, str] = {}
        warnings: list[str] = []
        for name in source:
            services = owner_map.get(name)
            if services:
                ownership[name] = services[0]
                if len(services) > 1:
                    warnings.append(f"{name} is defined by {', '.join(services)}: copied to {services[0]} only")
        unowned = sorted(t for t in source if t not in ownership)
        tables, units, backfill, empty, problems = plan_mod.build(source, targets)
        problems += await _null_preflight(ctx, conn, tables)
        database = await conn.fetchval("SELECT current_database()")
        version = await conn.fetchval("SHOW server_version")
    classified = [classify(fk, ownership, targets) for fk in fks]
    for fk in classified:
        if any(n.startswith("PROBLEM") for n in fk.notes):
            problems.append(f"{fk}: " + "; ".join(fk.notes))
    for table in tables.values():
        if table.dropped_source_columns:
            warnings.append(f"{table.name}: monolith columns the service does not keep: {table.dropped_source_columns}")
    return Plan(
        source={
            "database": database,
            "schema": ctx.source_schema,
            "server_version": version,
            "analysed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        ownership=ownership,
        unowned=unowned,
        foreign_keys=classified,
        tables=tables,
        units=units,
        backfill=backfill,
        empty=empty,
        warnings=warnings,
        problems=problems,
    )


def _same(a: Plan, b: Plan) -> bool:
    return a.fingerprint() == b.fingerprint() and [str(f) for f in a.foreign_keys] == [str(f) for f in b.foreign_keys]


async def run_analyse(ctx: Context, *, replace: bool = False) -> StepResult:
    result = StepResult("analyse")
    with timed(result):
        fresh = await analyse(ctx)
        path = ctx.plan_path
        if path.exists() and not replace:
            existing = plan_mod.load(path)
            if _same(existing, fresh):
                result.lines.append(f"plan {path} is up to date (unchanged)")
            else:
                result.warnings.append(
                    f"plan {path} differs from a fresh analysis (edited, or the source changed): kept; "
                    "use --replace to overwrite it"
                )
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(fresh.to_json())
            result.lines.append(f"plan written to {path}")
        summarise(fresh, result)
    return result


def summarise(plan: Plan, result: StepResult) -> None:
    fks = plan.foreign_keys
    kept = [f for f in fks if f.action == "keep"]
    converted = [f for f in fks if f.action == "logical_reference"]
    result.lines.append(
        f"{len(plan.ownership)} monolith tables owned by {len(set(plan.ownership.values()))} services; "
        f"{len(fks)} foreign keys: {len(kept)} kept inside a service, {len(converted)} become logical references"
    )
    for fk in kept:
        note = f" ({'; '.join(fk.notes)})" if fk.notes else ""
        result.lines.append(f"  keep     {fk} [{fk.service}]{note}")
    for fk in converted:
        state = f"proto {fk.proto_option}" if fk.proto_option else "NO proto option"
        info = [n for n in fk.notes if n.startswith("stored as")]
        result.lines.append(
            f"  logical  {fk} [{fk.service} -> {fk.ref_service}] {state}" + "".join(f" ({n})" for n in info)
        )
        for note in fk.notes:
            if note not in info:
                result.warnings.append(f"{fk}: {note}")
    for fk in fks:
        if fk.action == "not_migrated":
            result.warnings.append(f"{fk}: not migrated ({'; '.join(fk.notes)})")
    if plan.unowned:
        result.warnings.append(f"tables no service owns (not migrated): {', '.join(plan.unowned)}")
    result.lines.append("copy order: " + ", ".join(u.name for u in plan.units))
    result.lines.append(f"backfilled: {', '.join(plan.backfill)}")
    result.lines.append(f"start empty: {', '.join(plan.empty)}")
    result.warnings += plan.warnings
    result.problems += plan.problems
    result.data.update(
        kept=[str(f) for f in kept],
        converted=[str(f) for f in converted],
        missing_proto=[str(f) for f in converted if not f.proto_option],
        unowned=plan.unowned,
    )
