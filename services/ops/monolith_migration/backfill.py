"""Step 3 (spec phase 2.3, "Add Denormalized Fields"): fill what the services keep and the monolith
does not, so the running system starts consistent. Every backfill writes only rows that differ
(a second run changes nothing) and each runs in one transaction of its database.

Filled by extract already, from the same snapshot (derived columns and tables in the plan):
payroll_records.employee_name/department and payroll_run_id, payroll_runs, fiscal_periods,
journal_entries.fiscal_period_id/posting_key/department, general_ledger.journal_line_id,
customers.current_balance (recomputed from open invoices), invoices.issued_at,
shipments.status_changed_at, budgets.department, inventory_items.reorder_triggered. Those columns
are NOT NULL or checked in the target, so they must be right when the row arrives.

Filled here:
- payroll.employee_cache from the monolith's employees and departments (version = employees.version);
- finance.accounting_data_cache: every account's balance at every date it moved (what finance's
  consumer builds from JournalEntryPosted events), so the balance as of the extract date — or any
  earlier date — is there;
- finance.applied_journal_entries: every copied entry, marked applied (the monolith's budgets already
  reflect them; a re-announced old entry must not be charged again);
- gap-free number sequences (journal, invoice, credit note, purchase order, shipment numbers) set to
  the highest number per year found in the copied rows (numbers of another shape cannot collide);
- identity sequences (general_ledger.seq) past the highest copied value;
- billing's invoice_summary read model, refreshed when it differs from its query.

Deliberately not filled: event_store, outbox and processed_events start empty. The event store is
the record of events a service emitted; inventing "snapshot" events for migrated rows would
publish nothing (no outbox) or, with an outbox, re-announce history that every other service
already has from the same migration. processed_events must be empty so the first real events are
applied. The migration itself is recorded in each database's erp_migration schema.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.ops.monolith_migration import plan as plan_mod
from services.ops.monolith_migration.common import (
    Context,
    StepResult,
    ident,
    pipe,
    progress_bar,
    targets,
    timed,
)
from services.ops.monolith_migration.plan import Plan

_tmp_counter = itertools.count(1)


async def merge(
    dst: asyncpg.Connection,
    table: str,
    key: Sequence[str],
    columns: Sequence[str],
    records: Sequence[Sequence[Any]] = (),
    *,
    stream: tuple[asyncpg.Connection, str] | None = None,
    delete_scope: str | None = "TRUE",
    scope_args: Sequence[Any] = (),
    insert_only: bool = False,
    touch: dict[str, str] | None = None,
    keep: Sequence[str] = (),
) -> int:
    """Make `table` hold `records` (inside the caller's transaction): insert missing rows, update
    differing ones, delete rows in `delete_scope` (SQL on alias t; None = never) that `records`
    lacks (or the rows `stream` = (source connection, query) yields, piped with binary COPY: the
    query must produce the table's column types). `touch` columns get their expression only on rows
    that are written; `keep` columns are written on insert only. Returns rows written."""
    tmp = f"erp_merge_{next(_tmp_counter)}"
    cols = ", ".join(ident(c) for c in columns)
    await dst.execute(f"CREATE TEMP TABLE {tmp} ON COMMIT DROP AS SELECT {cols} FROM {ident(table)} WITH NO DATA")
    if stream is not None:
        await pipe(stream[0], stream[1], dst, tmp, list(columns))
    elif records:
        await dst.copy_records_to_table(tmp, records=list(records), columns=list(columns))
    non_key = [c for c in columns if c not in key and c not in keep]
    touch = touch or {}
    if insert_only or not non_key:
        conflict = "DO NOTHING"
    else:
        sets = [f"{ident(c)} = EXCLUDED.{ident(c)}" for c in non_key] + [f"{ident(c)} = {v}" for c, v in touch.items()]
        old = ", ".join(f"{ident(table)}.{ident(c)}" for c in non_key)
        new = ", ".join(f"EXCLUDED.{ident(c)}" for c in non_key)
        conflict = f"DO UPDATE SET {', '.join(sets)} WHERE ROW({old}, NULL) IS DISTINCT FROM ROW({new}, NULL)"
    touch_cols = "".join(f", {ident(c)}" for c in touch)
    touch_vals = "".join(f", {v}" for v in touch.values())
    keys = ", ".join(ident(k) for k in key)
    status = await dst.execute(
        f"INSERT INTO {ident(table)} ({cols}{touch_cols}) SELECT {cols}{touch_vals} FROM {tmp} "
        f"ON CONFLICT ({keys}) {conflict}"
    )
    written = int(status.split()[-1])
    if delete_scope is not None:
        match = " AND ".join(f"m.{ident(k)} = t.{ident(k)}" for k in key)
        status = await dst.execute(
            f"DELETE FROM {ident(table)} t WHERE ({delete_scope}) AND NOT EXISTS (SELECT 1 FROM {tmp} m WHERE {match})",
            *scope_args,
        )
        written += int(status.split()[-1])
    await dst.execute(f"DROP TABLE {tmp}")
    return written


@dataclass
class BackfillRun:
    """One backfill's inputs: source and target connections; `keys` = changed source keys per
    monolith table (sync), None = everything (the backfill step)."""

    service: str
    src: asyncpg.Connection
    dst: asyncpg.Connection
    plan: Plan
    keys: dict[str, set[str]] | None = None
    notes: list[str] | None = None

    def note(self, text: str) -> None:
        if self.notes is not None:
            self.notes.append(text)


@dataclass(frozen=True)
class Backfill:
    name: str
    service: str  # the database it writes
    feeder: str  # the service whose data it copies: after that service's cutover its events feed it
    inputs: tuple[str, ...]  # monolith tables whose changes call for it again (sync)
    run: Callable[[BackfillRun], Awaitable[int]]


# ---- payroll -------------------------------------------------------------------------------------

EMPLOYEE_CACHE_SQL = """
SELECT e.id::uuid AS employee_id, e.first_name::text, e.last_name::text, e.email::text, e.salary::numeric AS salary,
       d.name::text AS department, e.department_id::uuid, coalesce(e.status, 'active')::text AS status,
       e.hire_date::date, e.termination_date::date, coalesce(e.version, 1)::integer AS employee_version
FROM employees e LEFT JOIN departments d ON d.id = e.department_id
"""
EMPLOYEE_CACHE_COLUMNS = (
    "employee_id",
    "first_name",
    "last_name",
    "email",
    "salary",
    "department",
    "department_id",
    "status",
    "hire_date",
    "termination_date",
    "employee_version",
)


async def employee_cache(run: BackfillRun) -> int:
    if run.keys is None:
        return await merge(
            run.dst,
            "employee_cache",
            ["employee_id"],
            EMPLOYEE_CACHE_COLUMNS,
            stream=(run.src, EMPLOYEE_CACHE_SQL),
            touch={"last_synced_at": "now()"},
        )
    else:
        employees = sorted(run.keys.get("employees", set()))
        departments = sorted(run.keys.get("departments", set()))
        if not employees and not departments:
            return 0
        rows = await run.src.fetch(
            EMPLOYEE_CACHE_SQL + " WHERE e.id = ANY($1::text[]::uuid[]) OR e.department_id = ANY($2::text[]::uuid[])",
            employees,
            departments,
        )
    return await merge(
        run.dst,
        "employee_cache",
        ["employee_id"],
        EMPLOYEE_CACHE_COLUMNS,
        [tuple(r) for r in rows],
        delete_scope="t.employee_id = ANY($1::text[]::uuid[])",
        scope_args=(employees,),
        touch={"last_synced_at": "now()"},
    )


# ---- finance -------------------------------------------------------------------------------------

ACCOUNT_BALANCES_SQL = """
WITH moves AS (
    SELECT l.account_code, e.entry_date AS day,
           sum(CASE WHEN a.account_type IN ('asset', 'expense')
                    THEN coalesce(l.debit_amount, 0) - coalesce(l.credit_amount, 0)
                    ELSE coalesce(l.credit_amount, 0) - coalesce(l.debit_amount, 0) END) AS delta
    FROM journal_entry_lines l
    JOIN journal_entries e ON e.id = l.journal_entry_id
    JOIN chart_of_accounts a ON a.account_code = l.account_code
    WHERE coalesce(e.status, 'posted') <> 'draft'
    GROUP BY l.account_code, e.entry_date
)
SELECT m.account_code, a.account_name, a.account_type,
       sum(m.delta) OVER (PARTITION BY m.account_code ORDER BY m.day)::numeric AS balance, m.day AS as_of_date
FROM moves m JOIN chart_of_accounts a ON a.account_code = m.account_code
"""


async def accounting_data_cache(run: BackfillRun) -> int:
    rows = await run.src.fetch(ACCOUNT_BALANCES_SQL)
    return await merge(
        run.dst,
        "accounting_data_cache",
        ["account_code", "as_of_date"],
        ["account_code", "account_name", "account_type", "balance", "as_of_date"],
        [tuple(r) for r in rows],
        touch={"last_synced_at": "now()"},
    )


APPLIED_SQL = """
SELECT id::uuid AS journal_entry_id, journal_number::text, entry_date::date, source_service::text
FROM journal_entries WHERE coalesce(status, 'posted') <> 'draft'
"""
APPLIED_COLUMNS = ("journal_entry_id", "journal_number", "entry_date", "source_service")


async def applied_journal_entries(run: BackfillRun) -> int:
    if run.keys is None:
        return await merge(
            run.dst,
            "applied_journal_entries",
            ["journal_entry_id"],
            APPLIED_COLUMNS,
            stream=(run.src, APPLIED_SQL),
            delete_scope=None,
            insert_only=True,
        )
    else:
        ids = sorted(run.keys.get("journal_entries", set()))
        if not ids:
            return 0
        rows = await run.src.fetch(APPLIED_SQL + " AND id = ANY($1::text[]::uuid[])", ids)
    return await merge(
        run.dst,
        "applied_journal_entries",
        ["journal_entry_id"],
        APPLIED_COLUMNS,
        [tuple(r) for r in rows],
        delete_scope=None,
        insert_only=True,
    )


# ---- sequences -------------------------------------------------------------------------------------


def number_sequence(sequence: str, table: str, column: str, prefix: str) -> Callable[[BackfillRun], Awaitable[int]]:
    pattern = f"^{prefix}-([0-9]{{4}})-([0-9]+)$"

    async def run(run: BackfillRun) -> int:
        exists = await run.dst.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
        if not exists:
            return 0
        status = await run.dst.execute(
            f"INSERT INTO {ident(sequence)} (year, last_number) "
            f"SELECT (m)[1]::int, max((m)[2]::bigint)::int FROM "
            f"(SELECT regexp_match({ident(column)}, $1) AS m FROM {ident(table)}) x WHERE m IS NOT NULL GROUP BY 1 "
            f"ON CONFLICT (year) DO UPDATE SET last_number = EXCLUDED.last_number "
            f"WHERE {ident(sequence)}.last_number < EXCLUDED.last_number",
            pattern,
        )
        other = await run.dst.fetchval(f"SELECT count(*) FROM {ident(table)} WHERE {ident(column)} !~ $1", pattern)
        if other:
            run.note(f"{table}.{column}: {other} numbers not of the form {prefix}-<year>-<n> (they cannot collide)")
        return int(status.split()[-1])

    return run


async def identity_sequences(run: BackfillRun) -> int:
    """Serial/identity sequences of copied tables past the highest copied value."""
    copied = [t.table for t in run.plan.tables.values() if t.service == run.service]
    rows = await run.dst.fetch(
        """
        SELECT c.relname AS table_name, a.attname AS column_name,
               pg_get_serial_sequence(quote_ident(c.relname), a.attname) AS seq
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relname = ANY($1::text[]) AND a.attnum > 0 AND NOT a.attisdropped
          AND pg_get_serial_sequence(quote_ident(c.relname), a.attname) IS NOT NULL
        """,
        copied,
    )
    advanced = 0
    for r in rows:
        high = await run.dst.fetchval(f"SELECT max({ident(r['column_name'])}) FROM {ident(r['table_name'])}")
        if high is None:
            continue
        state = await run.dst.fetchrow(f"SELECT last_value, is_called FROM {r['seq']}")
        assert state is not None
        current = state["last_value"] if state["is_called"] else state["last_value"] - 1
        if high > current:
            await run.dst.execute("SELECT setval($1, $2)", r["seq"], high)
            advanced += 1
    return advanced


# ---- billing's read model -------------------------------------------------------------------------


async def invoice_summary(run: BackfillRun) -> int:
    view = await run.dst.fetchrow(
        "SELECT ispopulated, definition FROM pg_matviews "
        "WHERE schemaname = 'public' AND matviewname = 'invoice_summary'"
    )
    if view is None:
        return 0
    if view["ispopulated"]:
        query = str(view["definition"]).strip().rstrip(";")
        differs = await run.dst.fetchval(
            f"SELECT EXISTS (({query}) EXCEPT ALL TABLE invoice_summary) "
            f"OR EXISTS (TABLE invoice_summary EXCEPT ALL ({query}))"
        )
        if not differs:
            return 0
        await run.dst.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY invoice_summary")
    else:
        await run.dst.execute("REFRESH MATERIALIZED VIEW invoice_summary")
    return int(await run.dst.fetchval("SELECT count(*) FROM invoice_summary"))


BACKFILLS: tuple[Backfill, ...] = (
    Backfill("payroll.employee_cache", "payroll", "employee", ("employees", "departments"), employee_cache),
    Backfill(
        "accounting.journal_sequences",
        "accounting",
        "accounting",
        ("journal_entries",),
        number_sequence("journal_sequences", "journal_entries", "journal_number", "JE"),
    ),
    Backfill("accounting.identity_sequences", "accounting", "accounting", ("general_ledger",), identity_sequences),
    Backfill(
        "billing.invoice_number_sequences",
        "billing",
        "billing",
        ("invoices",),
        number_sequence("invoice_number_sequences", "invoices", "invoice_number", "INV"),
    ),
    Backfill(
        "billing.credit_note_number_sequences",
        "billing",
        "billing",
        ("credit_notes",),
        number_sequence("credit_note_number_sequences", "credit_notes", "credit_note_number", "CN"),
    ),
    Backfill(
        "billing.invoice_summary",
        "billing",
        "billing",
        ("invoices", "customers", "invoice_line_items", "payments"),
        invoice_summary,
    ),
    Backfill(
        "procurement.po_number_sequences",
        "procurement",
        "procurement",
        ("purchase_orders",),
        number_sequence("po_number_sequences", "purchase_orders", "po_number", "PO"),
    ),
    Backfill(
        "supply_chain.shipment_number_sequences",
        "supply_chain",
        "supply_chain",
        ("shipments",),
        number_sequence("shipment_number_sequences", "shipments", "shipment_number", "SH"),
    ),
    Backfill(
        "finance.accounting_data_cache",
        "finance",
        "accounting",
        ("journal_entries", "journal_entry_lines", "chart_of_accounts"),
        accounting_data_cache,
    ),
    Backfill("finance.applied_journal_entries", "finance", "accounting", ("journal_entries",), applied_journal_entries),
)


async def run_one(
    backfill: Backfill,
    src: asyncpg.Connection,
    dst: asyncpg.Connection,
    plan: Plan,
    keys: dict[str, set[str]] | None = None,
    notes: list[str] | None = None,
) -> int:
    return await backfill.run(BackfillRun(backfill.service, src, dst, plan, keys, notes))


async def missing_standard_accounts(dst: asyncpg.Connection) -> list[str]:
    from services.accounting.chart import STANDARD_CHART

    have = {r[0] for r in await dst.fetch("SELECT account_code FROM chart_of_accounts")}
    return [a.code for a in STANDARD_CHART if a.code not in have]


async def run_backfill(ctx: Context) -> StepResult:
    result = StepResult("backfill")
    with timed(result):
        plan = plan_mod.load(ctx.plan_path)
        services = plan.services()
        chosen = [b for b in BACKFILLS if b.service in services]
        written: dict[str, int] = {}
        async with ctx.connected_source() as src, targets(ctx, services) as conns:
            with progress_bar(ctx, "backfill", len(chosen)) as advance:
                for backfill in chosen:
                    dst = conns[backfill.service]
                    notes: list[str] = []
                    async with dst.transaction():
                        written[backfill.name] = await run_one(backfill, src, dst, plan, None, notes)
                    result.lines.append(f"{backfill.name:<45} {written[backfill.name]:>9,} rows written")
                    result.lines += [f"  note: {n}" for n in notes]
                    advance(1, backfill.name)
            if "accounting" in conns:
                missing = await missing_standard_accounts(conns["accounting"])
                if missing:
                    result.warnings.append(
                        f"the monolith's chart lacks standard accounts the services post to: {', '.join(missing)} "
                        "(create them with the accounting API before the services post)"
                    )
        result.lines.append("event_store, outbox, processed_events: left empty (see backfill.py)")
        result.data["written"] = written
    return result
