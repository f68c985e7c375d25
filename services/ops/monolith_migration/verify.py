"""Step 4: prove the copy. Every difference is named; any difference makes the exit status 1.

- Per table: row count and an order-independent checksum (the sum of a 64-bit hash of each row's
  canonical text) over every compared column, computed by each server on its own side: the source
  evaluates the plan's expressions, the target reads its columns. Per-column sums name the
  columns that differ; hash buckets then find the rows (missing, extra, changed with both values).
- Every logical reference (the monolith foreign keys the plan converted, the contracts' `ref`
  options between services, and keys inside a service the target keeps no constraint for) resolves
  in its owner's database; orphans are listed with table, column, value and referring row ids.
- Accounting invariants: trial balance zero, every entry balanced with at least two lines and
  totals equal to its header, one ledger row per line, every account's last running balance equal
  to the sum of its movements. Caches agree with their owners (payroll's employee cache, finance's
  accounting cache), payroll runs add up, number sequences are past every existing number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg

from services.ops.monolith_migration import plan as plan_mod
from services.ops.monolith_migration.analyse import proto_refs
from services.ops.monolith_migration.backfill import ACCOUNT_BALANCES_SQL, EMPLOYEE_CACHE_COLUMNS, EMPLOYEE_CACHE_SQL
from services.ops.monolith_migration.common import (
    Context,
    StepResult,
    canonical,
    get_state,
    ident,
    pipe,
    progress_bar,
    row_hash,
    targets,
    timed,
)
from services.ops.monolith_migration.plan import Plan, PlanColumn, PlanTable
from services.ops.monolith_migration.schema import target_tables
from services.ops.refs import cross_service_references

BUCKETS = 256
SHOW = 10


@dataclass(frozen=True)
class Aggregates:
    rows: int
    total: Decimal
    columns: dict[str, Decimal]


def _compared(table: PlanTable) -> list[PlanColumn]:
    return [c for c in table.columns if c.compare]


def _target_select(table: PlanTable, columns: list[PlanColumn]) -> str:
    parts = ", ".join(f"CAST(t.{ident(c.name)} AS {c.type}) AS {ident(c.name)}" for c in columns)
    return f"SELECT {parts} FROM {ident(table.table)} t"


def _texts(columns: list[PlanColumn]) -> list[str]:
    return [canonical(f"x.{ident(c.name)}", c.type) for c in columns]


def _key_text(table: PlanTable) -> str:
    return canonical(f"x.{ident(table.key)}", table.key_type)


async def _aggregates(conn: asyncpg.Connection, inner: str, columns: list[PlanColumn]) -> Aggregates:
    texts = _texts(columns)
    parts = ["count(*) AS n", f"coalesce(sum({row_hash(texts)}::numeric), 0) AS h"]
    parts += [f"coalesce(sum({row_hash([t])}::numeric), 0) AS c{i}" for i, t in enumerate(texts)]
    row = await conn.fetchrow(f"SELECT {', '.join(parts)} FROM ({inner}) x")
    assert row is not None
    return Aggregates(int(row["n"]), row["h"], {c.name: row[f"c{i}"] for i, c in enumerate(columns)})


async def _buckets(conn: asyncpg.Connection, inner: str, table: PlanTable, columns: list[PlanColumn]) -> dict[int, Any]:
    h = row_hash(_texts(columns))
    rows = await conn.fetch(
        f"SELECT (hashtextextended({_key_text(table)}, 7) & {BUCKETS - 1}) AS b, count(*) AS n, sum({h}::numeric) AS h "
        f"FROM ({inner}) x GROUP BY 1"
    )
    return {r["b"]: (r["n"], r["h"]) for r in rows}


async def _rows_in(
    conn: asyncpg.Connection, inner: str, table: PlanTable, columns: list[PlanColumn], buckets: list[int]
) -> dict[str, int]:
    rows = await conn.fetch(
        f"SELECT {_key_text(table)} AS k, {row_hash(_texts(columns))} AS h FROM ({inner}) x "
        f"WHERE (hashtextextended({_key_text(table)}, 7) & {BUCKETS - 1}) = ANY($1::int[])",
        buckets,
    )
    return {r["k"]: r["h"] for r in rows}


async def _values(
    conn: asyncpg.Connection, inner: str, table: PlanTable, columns: list[PlanColumn], keys: list[str]
) -> dict[str, dict[str, str | None]]:
    texts = ", ".join(f"{t} AS {ident(c.name)}" for t, c in zip(_texts(columns), columns, strict=True))
    rows = await conn.fetch(
        f"SELECT {_key_text(table)} AS erp_k, {texts} FROM ({inner}) x WHERE {_key_text(table)} = ANY($1::text[])",
        keys,
    )
    return {r["erp_k"]: {c.name: r[c.name] for c in columns} for r in rows}


async def compare_table(
    table: PlanTable, src: asyncpg.Connection, dst: asyncpg.Connection
) -> tuple[list[str], dict[str, Any]]:
    """Differences of one table, each named; and the figures."""
    columns = _compared(table)
    source_sql = table.select(columns=columns)
    target_sql = _target_select(table, columns)
    a = await _aggregates(src, source_sql, columns)
    b = await _aggregates(dst, target_sql, columns)
    figures = {"rows": a.rows, "target_rows": b.rows, "checksum": str(a.total), "columns": len(columns)}
    if a.rows == b.rows and a.total == b.total:
        return [], figures
    problems = []
    if a.rows != b.rows:
        problems.append(f"{table.name}: {a.rows} rows in the monolith, {b.rows} in {table.service}_db")
    differing = [c for c in a.columns if a.columns[c] != b.columns[c]]
    if differing and a.rows == b.rows:
        problems.append(f"{table.name}: checksum differs in columns {', '.join(differing)}")
    sb, tb = await _buckets(src, source_sql, table, columns), await _buckets(dst, target_sql, table, columns)
    bad = sorted(k for k in set(sb) | set(tb) if sb.get(k) != tb.get(k))
    srows, trows = (
        await _rows_in(src, source_sql, table, columns, bad),
        await _rows_in(dst, target_sql, table, columns, bad),
    )
    missing = sorted(set(srows) - set(trows))
    extra = sorted(set(trows) - set(srows))
    changed = sorted(k for k in set(srows) & set(trows) if srows[k] != trows[k])
    if missing:
        problems.append(f"{table.name}: {len(missing)} rows missing in the target, {table.key} {_show(missing)}")
    if extra:
        problems.append(f"{table.name}: {len(extra)} rows only in the target, {table.key} {_show(extra)}")
    if changed:
        sv = await _values(src, source_sql, table, columns, changed[:SHOW])
        tv = await _values(dst, target_sql, table, columns, changed[:SHOW])
        for key in changed[:SHOW]:
            cols = [c.name for c in columns if sv[key][c.name] != tv[key][c.name]]
            detail = "; ".join(f"{c}: monolith {sv[key][c]!r}, target {tv[key][c]!r}" for c in cols)
            problems.append(f"{table.name} {table.key}={key}: {detail}")
        if len(changed) > SHOW:
            problems.append(f"{table.name}: {len(changed) - SHOW} more changed rows")
    figures.update(missing=missing, extra=extra, changed=changed)
    return problems, figures


def _show(keys: Sequence[str]) -> str:
    return ", ".join(keys[:SHOW]) + (f" … (+{len(keys) - SHOW})" if len(keys) > SHOW else "")


# ---- logical references ------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    service: str
    table: str
    column: str
    owner: str
    owner_table: str
    owner_column: str

    def __str__(self) -> str:
        return f"{self.service}_db.{self.table}.{self.column} -> {self.owner}_db.{self.owner_table}.{self.owner_column}"


def references(plan: Plan) -> list[Ref]:
    """Every reference whose target the database cannot enforce, deduplicated."""
    found: set[Ref] = set()
    for fk in plan.foreign_keys:
        if fk.service is None or fk.ref_service is None or fk.target_column is None:
            continue
        if fk.action == "logical_reference" or (fk.action == "keep" and not fk.target_constraint):
            column = fk.target_column
            owner_column = fk.ref_column
            if column != fk.column:  # carried by another column (budgets.department_id -> department = name)
                declared = proto_refs().get((fk.service, fk.table, column))
                if declared is None:
                    continue
                owner_column = declared.target_field
            found.add(Ref(fk.service, fk.table, column, fk.ref_service, fk.ref_table, owner_column))
    for r in cross_service_references():
        found.add(Ref(r.service, r.table, r.column, r.target_service, r.target_table, r.target_column))
    return sorted(found, key=str)


async def orphans(ref: Ref, conns: dict[str, asyncpg.Connection]) -> tuple[list[str], str | None]:
    """(problems, skipped-reason)."""
    tables = target_tables()
    source, owner = conns.get(ref.service), conns.get(ref.owner)
    if source is None or owner is None:
        return [], f"{ref}: database not migrated"
    rt = tables.get(ref.service, {}).get(ref.table)
    ot = tables.get(ref.owner, {}).get(ref.owner_table)
    if rt is None or rt.column(ref.column) is None or ot is None or (oc := ot.column(ref.owner_column)) is None:
        return [], f"{ref}: column not in the target schema"
    col, tcol = ident(ref.column), ident(ref.owner_column)
    if source is owner:  # a reference inside one database without a constraint
        rows = await owner.fetch(
            f"SELECT DISTINCT {col}::text FROM {ident(ref.table)} r WHERE {col} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {ident(ref.owner_table)} o WHERE o.{tcol} = CAST(r.{col} AS {oc.base_type})) ORDER BY 1"
        )
        return await _listed(ref, source, rt.primary_key, [r[0] for r in rows])
    # across databases: the distinct values stream into the owner's database (binary COPY), one anti-join there
    async with owner.transaction():
        await owner.execute(f"CREATE TEMP TABLE erp_refs (v {oc.base_type}) ON COMMIT DROP")
        await pipe(
            source,
            f"SELECT DISTINCT CAST({col} AS {oc.base_type}) FROM {ident(ref.table)} WHERE {col} IS NOT NULL",
            owner,
            "erp_refs",
            ["v"],
        )
        missing = [
            r[0]
            for r in await owner.fetch(
                f"SELECT v::text FROM erp_refs r WHERE NOT EXISTS "
                f"(SELECT 1 FROM {ident(ref.owner_table)} o WHERE o.{tcol} = r.v) ORDER BY 1"
            )
        ]
    return await _listed(ref, source, rt.primary_key, missing)


async def _listed(
    ref: Ref, source: asyncpg.Connection, primary_key: tuple[str, ...], missing: list[str]
) -> tuple[list[str], str | None]:
    if not missing:
        return [], None
    col = ident(ref.column)
    key = primary_key[0] if primary_key else ref.column
    rows = await source.fetch(
        f"SELECT {ident(key)}::text AS k, {col}::text AS v FROM {ident(ref.table)} WHERE {col}::text = ANY($1::text[]) "
        f"ORDER BY 2, 1 LIMIT {SHOW * 2}",
        missing,
    )
    listed = ", ".join(f"{ref.table}.{key}={r['k']} ({ref.column}={r['v']})" for r in rows)
    return [f"orphan {ref}: {len(missing)} values missing in {ref.owner}_db: {listed}"], None


# ---- invariants ----------------------------------------------------------------------------------

NORMAL_DELTA = "CASE WHEN a.account_type IN ('asset', 'expense') THEN {d} - {c} ELSE {c} - {d} END"


async def accounting_invariants(conn: asyncpg.Connection) -> tuple[list[str], list[str]]:
    problems, lines = [], []
    diff = await conn.fetchval(
        "SELECT coalesce(sum(l.debit_amount), 0) - coalesce(sum(l.credit_amount), 0) FROM journal_entry_lines l "
        "JOIN journal_entries e ON e.id = l.journal_entry_id WHERE e.status <> 'draft'"
    )
    if diff != 0:
        problems.append(f"accounting: trial balance is off by {diff} (debits - credits)")
    else:
        lines.append("accounting: trial balance is zero")
    unbalanced = await conn.fetch(
        """SELECT e.journal_number, count(l.id) AS n, coalesce(sum(l.debit_amount), 0) AS d,
                  coalesce(sum(l.credit_amount), 0) AS c, e.total_debit, e.total_credit
           FROM journal_entries e LEFT JOIN journal_entry_lines l ON l.journal_entry_id = e.id
           WHERE e.status <> 'draft' GROUP BY e.id
           HAVING count(l.id) < 2
               OR coalesce(sum(l.debit_amount), 0) <> coalesce(sum(l.credit_amount), 0)
               OR coalesce(sum(l.debit_amount), 0) <> e.total_debit
               OR coalesce(sum(l.credit_amount), 0) <> e.total_credit
           ORDER BY 1 LIMIT 20"""
    )
    for r in unbalanced:
        problems.append(
            f"accounting: entry {r['journal_number']} has {r['n']} lines, debits {r['d']}, credits {r['c']}, "
            f"header {r['total_debit']}/{r['total_credit']}"
        )
    unposted = await conn.fetchval(
        "SELECT count(*) FROM journal_entry_lines l JOIN journal_entries e ON e.id = l.journal_entry_id "
        "WHERE e.status <> 'draft' AND NOT EXISTS (SELECT 1 FROM general_ledger g WHERE g.journal_line_id = l.id)"
    )
    if unposted:
        problems.append(f"accounting: {unposted} journal lines have no general ledger row")
    running = await conn.fetch(
        f"""WITH last AS (
               SELECT DISTINCT ON (account_code) account_code, running_balance FROM general_ledger
               ORDER BY account_code, transaction_date DESC, seq DESC),
             sums AS (
               SELECT g.account_code,
                      sum({NORMAL_DELTA.format(d="g.debit_amount", c="g.credit_amount")}) AS total
               FROM general_ledger g JOIN chart_of_accounts a ON a.account_code = g.account_code GROUP BY 1)
           SELECT last.account_code, last.running_balance, sums.total FROM last JOIN sums USING (account_code)
           WHERE last.running_balance <> sums.total ORDER BY 1"""
    )
    for r in running:
        problems.append(
            f"accounting: account {r['account_code']} ends at running balance {r['running_balance']} "
            f"but its movements sum to {r['total']}"
        )
    if not problems:
        lines.append("accounting: every entry balanced, every line in the ledger, running balances add up")
    return problems, lines


async def payroll_invariants(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        """SELECT r.id, r.pay_period_start, r.employee_count, count(p.id) AS n, r.total_gross,
                  coalesce(sum(p.gross_pay), 0) AS gross, r.total_net, coalesce(sum(p.net_pay), 0) AS net
           FROM payroll_runs r LEFT JOIN payroll_records p ON p.payroll_run_id = r.id
           GROUP BY r.id HAVING r.employee_count <> count(p.id) OR r.total_gross <> coalesce(sum(p.gross_pay), 0)
               OR r.total_net <> coalesce(sum(p.net_pay), 0) ORDER BY 2 LIMIT 20"""
    )
    return [
        f"payroll: run {r['id']} ({r['pay_period_start']}) says {r['employee_count']} records / gross "
        f"{r['total_gross']} / net {r['total_net']}, its records: {r['n']} / {r['gross']} / {r['net']}"
        for r in rows
    ]


async def employee_cache_check(src: asyncpg.Connection, payroll: asyncpg.Connection) -> list[str]:
    truth = {str(r["employee_id"]): tuple(r) for r in await src.fetch(EMPLOYEE_CACHE_SQL)}
    cols = ", ".join(ident(c) for c in EMPLOYEE_CACHE_COLUMNS)
    have = {str(r["employee_id"]): tuple(r) for r in await payroll.fetch(f"SELECT {cols} FROM employee_cache")}
    problems = []
    missing = sorted(set(truth) - set(have))
    extra = sorted(set(have) - set(truth))
    stale = sorted(k for k in set(truth) & set(have) if truth[k] != have[k])
    if missing:
        problems.append(f"payroll.employee_cache: {len(missing)} employees missing: {_show(missing)}")
    if extra:
        problems.append(f"payroll.employee_cache: {len(extra)} unknown employees: {_show(extra)}")
    if stale:
        problems.append(f"payroll.employee_cache: {len(stale)} rows differ from the employees: {_show(stale)}")
    return problems


async def finance_cache_check(src: asyncpg.Connection, finance: asyncpg.Connection) -> list[str]:
    rows = await src.fetch(ACCOUNT_BALANCES_SQL)
    truth: dict[str, tuple[Any, Decimal]] = {}
    for r in rows:
        code = r["account_code"]
        if code not in truth or r["as_of_date"] > truth[code][0]:
            truth[code] = (r["as_of_date"], r["balance"])
    have = {
        r["account_code"]: (r["as_of_date"], r["balance"])
        for r in await finance.fetch(
            "SELECT DISTINCT ON (account_code) account_code, as_of_date, balance FROM accounting_data_cache "
            "ORDER BY account_code, as_of_date DESC"
        )
    }
    problems = []
    for code in sorted(set(truth) | set(have)):
        t, h = truth.get(code), have.get(code)
        if t is None or h is None or t[1] != h[1]:
            problems.append(
                f"finance.accounting_data_cache: account {code} latest balance {h[1] if h else None} "
                f"(as of {h[0] if h else None}), accounting says {t[1] if t else None}"
            )
    return problems


SEQUENCES = (
    ("accounting", "journal_sequences", "journal_entries", "journal_number", "JE"),
    ("billing", "invoice_number_sequences", "invoices", "invoice_number", "INV"),
    ("billing", "credit_note_number_sequences", "credit_notes", "credit_note_number", "CN"),
    ("procurement", "po_number_sequences", "purchase_orders", "po_number", "PO"),
    ("supply_chain", "shipment_number_sequences", "shipments", "shipment_number", "SH"),
)


async def sequence_check(conns: dict[str, asyncpg.Connection]) -> list[str]:
    problems = []
    for service, sequence, table, column, prefix in SEQUENCES:
        conn = conns.get(service)
        if conn is None:
            continue
        rows = await conn.fetch(
            f"SELECT h.year, h.high, s.last_number AS last FROM ("
            f"SELECT (m)[1]::int AS year, max((m)[2]::bigint) AS high "
            f"FROM (SELECT regexp_match({ident(column)}, $1) AS m FROM {ident(table)}) x WHERE m IS NOT NULL GROUP BY 1"
            f") h LEFT JOIN {ident(sequence)} s ON s.year = h.year WHERE coalesce(s.last_number, 0) < h.high",
            f"^{prefix}-([0-9]{{4}})-([0-9]+)$",
        )
        for r in rows:
            problems.append(
                f"{service}.{sequence}: year {r['year']} is at {r['last']} but {table} has number {r['high']}"
            )
    return problems


# ---- the step --------------------------------------------------------------------------------------


async def run_verify(ctx: Context, *, services: list[str] | None = None) -> StepResult:
    result = StepResult("verify")
    with timed(result):
        plan = plan_mod.load(ctx.plan_path)
        chosen = [s for s in plan.services() if services is None or s in services]
        async with ctx.connected_source() as src, targets(ctx, chosen) as conns:
            await _verify(ctx, plan, chosen, src, conns, result)
    return result


async def _verify(
    ctx: Context,
    plan: Plan,
    chosen: list[str],
    src: asyncpg.Connection,
    conns: dict[str, asyncpg.Connection],
    result: StepResult,
) -> None:
    owned = {
        s for s in chosen if ((await get_state(conns[s], "cutover")) or {}).get("status") in ("cut_over", "finalised")
    }
    if owned:
        result.warnings.append(
            f"{', '.join(sorted(owned))} own their data since their cutover: their tables are not compared"
        )
    tables = [t for t in plan.tables.values() if t.service in chosen and t.service not in owned]
    refs = [r for r in references(plan) if r.service in chosen]
    figures: dict[str, Any] = {}
    checked_rows = 0
    async with src.transaction(isolation="repeatable_read", readonly=True):
        with progress_bar(ctx, "verify", len(tables) + len(refs) + 1) as advance:
            for table in tables:
                problems, figures[table.name] = await compare_table(table, src, conns[table.service])
                result.problems += problems
                checked_rows += figures[table.name]["rows"]
                advance(1, table.name)
            skipped = []
            for ref in refs:
                problems, skip = await orphans(ref, conns)
                result.problems += problems
                if skip:
                    skipped.append(skip)
                advance(1, f"{ref.table}.{ref.column}")
            if "accounting" in conns:
                problems, lines = await accounting_invariants(conns["accounting"])
                result.problems += problems
                result.lines += lines
            if "payroll" in conns:
                result.problems += await payroll_invariants(conns["payroll"])
                if "employee" not in owned:
                    result.problems += await employee_cache_check(src, conns["payroll"])
            if "finance" in conns and "accounting" not in owned:
                result.problems += await finance_cache_check(src, conns["finance"])
            result.problems += await sequence_check(conns)
            advance(1, "invariants")
    identical = sum(1 for t in tables if not any(p.startswith(t.name) for p in result.problems))
    result.lines.insert(
        0, f"{identical}/{len(tables)} tables identical ({checked_rows:,} monolith rows, counts and checksums)"
    )
    result.lines.insert(1, f"{len(refs)} logical references checked for orphans")
    snapshots = [f"{t.name}.{c.name}" for t in tables for c in t.columns if not c.compare]
    if snapshots:
        result.lines.insert(2, "derived, not compared (copies kept as written): " + ", ".join(snapshots))
    result.warnings += [f"not checked: {s}" for s in skipped]
    result.data["tables"] = figures
