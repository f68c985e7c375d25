"""Load a data set into the service databases through their bulk path (COPY), as a migration
from the monolith would: employee_db (departments, employees), payroll_db (tax rates, the
employee cache, runs and records with their denormalised name and department) and
accounting_db (fiscal periods, journal entries, lines, the general ledger, journal numbers).

Nothing goes through the event pipeline (no event_store/outbox rows): the copies are written
consistent with each other, as if every event had been delivered. The databases must exist and
be migrated; the tables loaded here must be empty. The database triggers (balanced entries,
periods, foreign keys) stay on and check every row.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from decimal import Decimal

import asyncpg

from monolith.load import continue_ledger_seq, copy, copy_employees, copy_lines, copy_tax_rates
from monolith.model import DataSet

PERIOD_NAMESPACE = uuid.UUID("6f1d3a52-1d7e-4c43-9a55-8a3b7f9e0c11")


async def load_services(urls: dict[str, str], data: DataSet) -> dict[str, float]:
    """`urls` maps employee/payroll/accounting to libpq URLs; returns seconds per database."""
    timings: dict[str, float] = {}
    for service, loader in (("employee", copy_employees), ("payroll", load_payroll), ("accounting", load_accounting)):
        started = time.perf_counter()
        conn = await asyncpg.connect(urls[service])
        try:
            async with conn.transaction():
                await loader(conn, data)
            await conn.execute("ANALYZE")
        finally:
            await conn.close()
        timings[service] = time.perf_counter() - started
    return timings


async def load_payroll(conn: asyncpg.Connection, data: DataSet) -> None:
    names = {d.id: d.name for d in data.departments}
    people = {e.id: e for e in data.employees}
    await copy_tax_rates(conn, data)
    await copy(
        conn,
        "employee_cache",
        (
            "employee_id",
            "first_name",
            "last_name",
            "email",
            "salary",
            "department",
            "department_id",
            "status",
            "hire_date",
            "employee_version",
        ),
        (
            (
                e.id,
                e.first_name,
                e.last_name,
                e.email,
                e.salary,
                names[e.department_id],
                e.department_id,
                e.status,
                e.hire_date,
                1,
            )
            for e in data.employees
        ),
    )
    await copy_runs(conn, data)
    await copy(
        conn,
        "payroll_records",
        (
            "id",
            "employee_id",
            "employee_name",
            "department",
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
            "payroll_run_id",
            "version",
        ),
        (
            (
                r.id,
                r.employee_id,
                f"{people[r.employee_id].first_name} {people[r.employee_id].last_name}",
                names[people[r.employee_id].department_id],
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
                r.processed_at,
                data.approver_id,
                r.processed_at,
                r.run_id,
                3,
            )
            for r in data.records
        ),
    )


async def copy_runs(conn: asyncpg.Connection, data: DataSet) -> None:
    totals: dict[uuid.UUID, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 6)
    counts: dict[uuid.UUID, int] = defaultdict(int)
    for r in data.records:
        t = totals[r.run_id]
        for i, amount in enumerate((r.gross, r.federal, r.state, r.social_security, r.medicare, r.net)):
            t[i] += amount
        counts[r.run_id] += 1
    rows = []
    for run in data.runs:
        approved = next(r.processed_at for r in data.records if r.run_id == run.id)
        rows.append(
            (
                run.id,
                run.start,
                run.end,
                "processed",
                run.tax_rate_id,
                data.approver_id,
                approved,
                counts[run.id],
                *totals[run.id],
                counts[run.id],
            )
        )
    await copy(
        conn,
        "payroll_runs",
        (
            "id",
            "pay_period_start",
            "pay_period_end",
            "status",
            "tax_rate_id",
            "approved_by",
            "approved_at",
            "employee_count",
            "total_gross",
            "total_federal_tax",
            "total_state_tax",
            "total_social_security_tax",
            "total_medicare_tax",
            "total_net",
            "processed_count",
        ),
        rows,
    )


async def load_accounting(conn: asyncpg.Connection, data: DataSet) -> None:
    periods = {}
    for run in data.runs:
        key = (run.start.year, run.start.month)
        periods[key] = (uuid.uuid5(PERIOD_NAMESPACE, f"{key}"), run.start.year, run.start.month, run.start, run.end)
    await copy(
        conn, "fiscal_periods", ("id", "fiscal_year", "period_number", "start_date", "end_date"), periods.values()
    )
    await copy(
        conn,
        "journal_entries",
        (
            "id",
            "journal_number",
            "entry_date",
            "fiscal_period_id",
            "description",
            "reference",
            "source_service",
            "source_id",
            "total_debit",
            "total_credit",
            "status",
            "posted_at",
            "department",
            "posting_key",
        ),
        (
            (
                e.id,
                e.number,
                e.entry_date,
                periods[(e.entry_date.year, e.entry_date.month)][0],
                e.description,
                e.reference,
                e.source_service,
                e.source_id,
                e.total,
                e.total,
                "posted",
                e.posted_at,
                e.department,
                e.reference,
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
            "journal_line_id",
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
                g.line.id,
                g.line.description,
                g.line.debit,
                g.line.credit,
                g.balance,
            )
            for g in data.ledger
        ),
    )
    await continue_ledger_seq(conn, data)
    last: dict[int, int] = {}
    for e in data.entries:
        year, number = e.number.split("-")[1:]
        last[int(year)] = max(last.get(int(year), 0), int(number))
    await conn.executemany("INSERT INTO journal_sequences (year, last_number) VALUES ($1, $2)", list(last.items()))
