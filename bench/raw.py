"""The write-path floor: the rows a CreateEmployee / PostJournalEntry writes, inserted with raw
asyncpg in one transaction each (domain rows, history or ledger rows, event_store, outbox,
NOTIFY), straight into the services' own databases (same tables, constraints and triggers)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import asyncpg
from erp.accounting.v1 import events_pb2 as acc_ev
from erp.employee.v1 import events_pb2 as emp_ev
from google.type.decimal_pb2 import Decimal as PbDecimal

from services.runtime.context import CallContext
from services.runtime.convert import date_to_pb
from services.runtime.events import build_headers, event_subject

EVENT = """INSERT INTO event_store (id, aggregate_id, aggregate_type, event_type, event_data, event_version)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6)"""
OUTBOX = """INSERT INTO outbox (event_id, subject, event_type, aggregate_id, payload, headers)
            VALUES ($1, $2, $3, $4, $5, $6::jsonb)"""
EMPLOYEE = """INSERT INTO employees (id, first_name, last_name, email, job_title, salary, hire_date, status,
                                     department_id, version, created_at, updated_at)
              VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, 1, $9, $9)"""
HISTORY = """INSERT INTO employee_history (employee_id, change_type, changed_fields, changed_at)
             VALUES ($1, 'created', $2::jsonb, $3)"""
PERIOD = "SELECT id FROM fiscal_periods WHERE start_date <= $1 AND end_date >= $1 FOR SHARE"
ACCOUNTS = """SELECT account_code, account_type FROM chart_of_accounts WHERE account_code = ANY($1)
              ORDER BY account_code FOR NO KEY UPDATE"""
NUMBER = """INSERT INTO journal_sequences AS s (year, last_number) VALUES ($1, 1)
            ON CONFLICT (year) DO UPDATE SET last_number = s.last_number + 1 RETURNING last_number"""
ENTRY = """INSERT INTO journal_entries (id, journal_number, entry_date, fiscal_period_id, description, reference,
                                       source_service, total_debit, total_credit, status, posted_at, created_at,
                                       updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, 'manual', $7, $7, 'posted', $8, $8, $8)"""
LINE = """INSERT INTO journal_entry_lines (id, journal_entry_id, line_number, account_code, description,
                                          debit_amount, credit_amount) VALUES ($1, $2, $3, $4, $5, $6, $7)"""
# services/accounting/ledger.py's append, in asyncpg form.
LEDGER = """
    WITH s AS (SELECT nextval(pg_get_serial_sequence('general_ledger', 'seq')) AS seq),
    prev AS (
        SELECT gl.running_balance FROM general_ledger gl, s
        WHERE gl.account_code = $1 AND (gl.transaction_date, gl.seq) < ($2::date, s.seq)
        ORDER BY gl.transaction_date DESC, gl.seq DESC LIMIT 1
    ), ins AS (
        INSERT INTO general_ledger (seq, account_code, transaction_date, journal_entry_id, journal_line_id,
                                    description, debit_amount, credit_amount, running_balance)
        SELECT s.seq, $1, $2, $3, $4, $5, $6, $7, COALESCE((SELECT running_balance FROM prev), 0) + $8::numeric
        FROM s RETURNING seq
    )
    UPDATE general_ledger gl SET running_balance = gl.running_balance + $8::numeric
    FROM ins WHERE gl.account_code = $1 AND (gl.transaction_date, gl.seq) > ($2::date, ins.seq)
"""


async def _event(conn: asyncpg.Connection, root: str, message: object, aggregate: str, aggregate_id: uuid.UUID) -> None:
    event_id, now = uuid.uuid4(), datetime.now(UTC)
    event_type = message.DESCRIPTOR.full_name  # type: ignore[attr-defined]
    headers = build_headers(
        event_id=event_id, event_type=event_type, aggregate_id=str(aggregate_id), ctx=CallContext(), occurred_at=now
    )
    await conn.execute(EVENT, event_id, aggregate_id, aggregate, event_type, "{}", 1)
    payload = message.SerializeToString()  # type: ignore[attr-defined]
    await conn.execute(
        OUTBOX, event_id, event_subject(root, event_type), event_type, str(aggregate_id), payload, json.dumps(headers)
    )
    await conn.execute("NOTIFY erp_outbox")


async def create_employee(conn: asyncpg.Connection, root: str, email: str, department_id: uuid.UUID) -> None:
    key, now, salary, hired = uuid.uuid4(), datetime.now(UTC), Decimal("52000.00"), date(2024, 3, 1)
    changes = {"first_name": {"old": None, "new": "Raw"}, "email": {"old": None, "new": email}}
    async with conn.transaction():
        await conn.execute(EMPLOYEE, key, "Raw", "Writer", email, "Clerk", salary, hired, department_id, now)
        await conn.execute(HISTORY, key, json.dumps(changes), now)
        created = emp_ev.EmployeeCreated(
            employee_id=str(key),
            first_name="Raw",
            last_name="Writer",
            email=email,
            job_title="Clerk",
            salary=PbDecimal(value=str(salary)),
            hire_date=date_to_pb(hired),
            department_id=str(department_id),
            version=1,
        )
        await _event(conn, root, created, "Employee", key)


async def post_entry(conn: asyncpg.Connection, root: str, day: date, amount: Decimal) -> None:
    """Dr 5300 / Cr 1010 `amount`, numbered gap-free, with its two ledger rows."""
    key, now = uuid.uuid4(), datetime.now(UTC)
    lines = [(uuid.uuid4(), 1, "5300", amount, Decimal(0)), (uuid.uuid4(), 2, "1010", Decimal(0), amount)]
    async with conn.transaction():
        period = await conn.fetchval(PERIOD, day)
        types = {r["account_code"]: r["account_type"] for r in await conn.fetch(ACCOUNTS, ["1010", "5300"])}
        number = f"JE-{day.year}-{await conn.fetchval(NUMBER, day.year):06d}"
        await conn.execute(ENTRY, key, number, day, period, "Raw write", "bench", amount, now)
        for line_id, n, code, debit, credit in lines:
            await conn.execute(LINE, line_id, key, n, code, "Raw", debit, credit)
        for line_id, _, code, debit, credit in lines:
            delta = debit - credit if types[code] in ("asset", "expense") else credit - debit
            await conn.execute(LEDGER, code, day, key, line_id, "Raw", debit, credit, delta)
        posted = acc_ev.JournalEntryPosted(
            journal_entry_id=str(key),
            journal_number=number,
            entry_date=date_to_pb(day),
            source_service="manual",
            total_amount=PbDecimal(value=str(amount)),
        )
        await _event(conn, root, posted, "JournalEntry", key)
