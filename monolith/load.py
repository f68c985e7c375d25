"""Fill a monolith database (`schema.sql`) with a data set, fast: COPY for every table.

The database is dropped and re-created. departments <-> employees refer to each other, so
departments go in without their managers, then employees, then the managers are set.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from monolith import commerce
from monolith.model import CHART, DataSet

SCHEMA = Path(__file__).with_name("schema.sql")


def server_url(url: str, database: str = "postgres") -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def database_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


async def recreate_database(url: str) -> None:
    conn = await asyncpg.connect(server_url(url))
    try:
        name = database_of(url)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def copy(conn: asyncpg.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    await conn.copy_records_to_table(table, records=rows, columns=list(columns))


async def load_monolith(url: str, data: DataSet) -> dict[str, float]:
    """(Re)create the database at `url`, create the schema and COPY the data set; returns timings."""
    started = time.perf_counter()
    await recreate_database(url)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(SCHEMA.read_text())
        schema_s = time.perf_counter() - started
        async with conn.transaction():
            await copy_people(conn, data)
            await copy_ledger(conn, data)
            for table, rows in data.other.items():
                await copy(conn, table, commerce.COLUMNS[table], rows)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return {"schema_s": schema_s, "total_s": time.perf_counter() - started}


async def copy_people(conn: asyncpg.Connection, data: DataSet) -> None:
    await copy_employees(conn, data)
    await copy_tax_rates(conn, data)


async def copy_employees(conn: asyncpg.Connection, data: DataSet) -> None:
    """Departments, employees, then each department's manager (the monolith's and employee_db's tables)."""
    await copy(
        conn,
        "departments",
        ("id", "name", "code", "budget_code"),
        ((d.id, d.name, d.code, d.budget_code) for d in data.departments),
    )
    await copy(
        conn,
        "employees",
        (
            "id",
            "first_name",
            "last_name",
            "email",
            "phone_number",
            "job_title",
            "salary",
            "hire_date",
            "status",
            "department_id",
            "social_security_number",
            "bank_account_number",
        ),
        (tuple(e) for e in data.employees),
    )
    await conn.executemany(
        "UPDATE departments SET manager_id = $2 WHERE id = $1",
        [(d.id, d.manager_id) for d in data.departments if d.manager_id],
    )


async def copy_tax_rates(conn: asyncpg.Connection, data: DataSet) -> None:
    await copy(
        conn,
        "tax_rates",
        (
            "id",
            "year",
            "federal_rate",
            "state_rate",
            "social_security_rate",
            "medicare_rate",
            "effective_from",
            "effective_to",
        ),
        (tuple(r) for r in data.tax_rates),
    )


async def copy_ledger(conn: asyncpg.Connection, data: DataSet) -> None:
    """Chart, journal entries, lines, general ledger, then the payroll records that point at them."""
    await copy(
        conn, "chart_of_accounts", ("account_code", "account_name", "account_type", "parent_account_code"), CHART
    )
    await copy(
        conn,
        "journal_entries",
        (
            "id",
            "journal_number",
            "entry_date",
            "description",
            "reference",
            "source_service",
            "source_id",
            "total_debit",
            "total_credit",
            "status",
            "posted_by",
            "posted_at",
        ),
        (
            (
                e.id,
                e.number,
                e.entry_date,
                e.description,
                e.reference,
                e.source_service,
                e.source_id,
                e.total,
                e.total,
                "posted",
                data.approver_id,
                e.posted_at.replace(tzinfo=None),
            )
            for e in data.entries
        ),
    )
    await copy_lines(conn, data)
    await copy(
        conn,
        "general_ledger",
        (
            "seq",
            "account_code",
            "transaction_date",
            "journal_entry_id",
            "description",
            "debit_amount",
            "credit_amount",
            "running_balance",
        ),
        (
            (
                g.seq,
                g.line.account_code,
                g.entry_date,
                g.line.entry_id,
                g.line.description,
                g.line.debit,
                g.line.credit,
                g.balance,
            )
            for g in data.ledger
        ),
    )
    await continue_ledger_seq(conn, data)
    await copy(
        conn,
        "payroll_records",
        (
            "id",
            "employee_id",
            "pay_period_start",
            "pay_period_end",
            "gross_pay",
            "federal_tax",
            "state_tax",
            "social_security_tax",
            "medicare_tax",
            "net_pay",
            "status",
            "accounting_transaction_id",
            "processed_at",
            "approved_by",
            "approved_at",
        ),
        (
            (
                r.id,
                r.employee_id,
                r.start,
                r.end,
                r.gross,
                r.federal,
                r.state,
                r.social_security,
                r.medicare,
                r.net,
                "processed",
                r.journal_entry_id,
                r.processed_at.replace(tzinfo=None),
                data.approver_id,
                r.processed_at.replace(tzinfo=None),
            )
            for r in data.records
        ),
    )


async def copy_lines(conn: asyncpg.Connection, data: DataSet) -> None:
    await copy(
        conn,
        "journal_entry_lines",
        ("id", "journal_entry_id", "line_number", "account_code", "description", "debit_amount", "credit_amount"),
        (tuple(line) for line in data.lines),
    )


async def continue_ledger_seq(conn: asyncpg.Connection, data: DataSet) -> None:
    """The ledger's seq sequence goes on after the loaded rows."""
    if data.ledger:
        await conn.execute("SELECT setval(pg_get_serial_sequence('general_ledger', 'seq'), $1)", data.ledger[-1].seq)
