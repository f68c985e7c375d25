"""The questions the benchmarks ask, answered by the monolith with plain SQL."""

from __future__ import annotations

import time
import uuid
from datetime import date

import asyncpg

_PEOPLE = """
    SELECT e.id, e.first_name, e.last_name, d.id AS department_id, d.name AS department_name,
           m.id AS manager_id, m.first_name AS manager_first_name, m.last_name AS manager_last_name
    FROM (SELECT * FROM employees ORDER BY last_name, first_name, id LIMIT $1) e
    LEFT JOIN departments d ON d.id = e.department_id
    LEFT JOIN employees m ON m.id = d.manager_id
"""

# Scenario 1: employees with department and manager, ordered as the employee service lists them.
READ_SHALLOW = _PEOPLE + " ORDER BY e.last_name, e.first_name, e.id"

# ... and each one's last three payroll records, their journal entries, lines and accounts.
READ_DEEP = (
    _PEOPLE.replace(
        "SELECT e.id,",
        "SELECT e.id, pr.id AS record_id, pr.pay_period_start, pr.gross_pay, pr.net_pay,"
        " je.id AS entry_id, je.journal_number, je.entry_date, l.line_number, l.account_code,"
        " l.debit_amount, l.credit_amount, a.account_name,",
    )
    + """
    LEFT JOIN LATERAL (
        SELECT * FROM payroll_records p WHERE p.employee_id = e.id ORDER BY p.pay_period_start DESC LIMIT 3
    ) pr ON true
    LEFT JOIN journal_entries je ON je.id = pr.accounting_transaction_id
    LEFT JOIN journal_entry_lines l ON l.journal_entry_id = je.id
    LEFT JOIN chart_of_accounts a ON a.account_code = l.account_code
    ORDER BY e.last_name, e.first_name, e.id, pr.pay_period_start DESC, l.line_number
"""
)

# Scenario 4, the payroll service's rules in SQL: a calendar month earns salary / 12, prorated by
# days employed; each tax is gross x rate; everything rounded half-up to cents (round() on numeric).
CALCULATE = """
    INSERT INTO payroll_records (employee_id, pay_period_start, pay_period_end, gross_pay, federal_tax, state_tax,
                                 social_security_tax, medicare_tax, deductions, net_pay, status)
    SELECT e.id, $1, $2, g.gross, t.f, t.s, t.ss, t.m, 0, g.gross - t.f - t.s - t.ss - t.m, 'pending'
    FROM employees e
    CROSS JOIN (SELECT * FROM tax_rates WHERE effective_from <= $2 AND coalesce(effective_to, $2) >= $2) r
    CROSS JOIN LATERAL (
        SELECT least($2, coalesce(e.termination_date, $2)) - greatest($1, e.hire_date) + 1 AS worked,
               $2::date - $1::date + 1 AS days
    ) w
    CROSS JOIN LATERAL (
        SELECT CASE WHEN w.worked >= w.days THEN round(e.salary / 12, 2)
                    ELSE round(e.salary / 12 * w.worked / w.days, 2) END AS gross
    ) g
    CROSS JOIN LATERAL (
        SELECT round(g.gross * r.federal_rate, 2) AS f, round(g.gross * r.state_rate, 2) AS s,
               round(g.gross * r.social_security_rate, 2) AS ss, round(g.gross * r.medicare_rate, 2) AS m
    ) t
    WHERE w.worked > 0 AND (e.status IN ('active', 'on_leave') OR e.termination_date IS NOT NULL)
      AND NOT EXISTS (SELECT 1 FROM payroll_records p
                      WHERE p.employee_id = e.id AND p.pay_period_start <= $2 AND p.pay_period_end >= $1)
"""

APPROVE = """
    UPDATE payroll_records SET status = 'processing', approved_by = $3, approved_at = now(), updated_at = now()
    WHERE pay_period_start = $1 AND pay_period_end = $2 AND status = 'pending'
"""

# Dr 5200 gross / Cr 2200 taxes / Cr 2100 net per record, gap-free numbers after the year's last.
# The year's last number is computed once (a MATERIALIZED CTE): as a cross-joined subquery the
# planner re-ran it for every record when the statistics had not seen the records approved a
# moment before (300 ms of the 365 ms the posting took for 1,000 records).
POST_ENTRIES = """
    WITH base AS MATERIALIZED (
        SELECT coalesce(max(split_part(journal_number, '-', 3)::int), 0) AS last FROM journal_entries
        WHERE journal_number LIKE 'JE-' || extract(year FROM $2::date) || '-%'
    )
    INSERT INTO journal_entries (id, journal_number, entry_date, description, reference, source_service, source_id,
                                 total_debit, total_credit, status, posted_by, posted_at)
    SELECT gen_random_uuid(),
           'JE-' || extract(year FROM $2::date) || '-'
             || lpad((base.last + row_number() OVER (ORDER BY p.id))::text, 6, '0'),
           $2, 'Payroll expense, ' || e.first_name || ' ' || e.last_name || ', ' || $1::date::text
             || ' to ' || $2::date::text,
           'payroll.expense:' || p.id, 'payroll', p.id, p.gross_pay, p.gross_pay, 'posted', $3, now()
    FROM payroll_records p
    JOIN employees e ON e.id = p.employee_id
    CROSS JOIN base
    WHERE p.pay_period_start = $1 AND p.pay_period_end = $2 AND p.status = 'processing'
"""

POST_LINES = """
    INSERT INTO journal_entry_lines (journal_entry_id, line_number, account_code, description, debit_amount,
                                     credit_amount)
    SELECT je.id, v.n, v.code, v.text, v.debit, v.credit
    FROM payroll_records p
    JOIN journal_entries je ON je.source_service = 'payroll' AND je.source_id = p.id
    CROSS JOIN LATERAL (VALUES (1, '5200', 'Gross pay', p.gross_pay, 0::numeric),
                               (2, '2200', 'Taxes and deductions', 0::numeric, p.gross_pay - p.net_pay),
                               (3, '2100', 'Net pay owed', 0::numeric, p.net_pay)) v(n, code, text, debit, credit)
    WHERE p.pay_period_start = $1 AND p.pay_period_end = $2 AND p.status = 'processing'
"""

# Running balances continue from each account's latest ledger row, in journal number order.
POST_LEDGER = """
    WITH new_lines AS (
        SELECT l.*, je.entry_date, je.journal_number,
               CASE WHEN a.account_type IN ('asset', 'expense') THEN l.debit_amount - l.credit_amount
                    ELSE l.credit_amount - l.debit_amount END AS delta
        FROM payroll_records p
        JOIN journal_entries je ON je.source_service = 'payroll' AND je.source_id = p.id
        JOIN journal_entry_lines l ON l.journal_entry_id = je.id
        JOIN chart_of_accounts a ON a.account_code = l.account_code
        WHERE p.pay_period_start = $1 AND p.pay_period_end = $2 AND p.status = 'processing'
    ), previous AS (
        SELECT DISTINCT ON (account_code) account_code, running_balance FROM general_ledger
        WHERE account_code IN (SELECT account_code FROM new_lines)
        ORDER BY account_code, transaction_date DESC, seq DESC
    )
    INSERT INTO general_ledger (account_code, transaction_date, journal_entry_id, description, debit_amount,
                                credit_amount, running_balance)
    SELECT n.account_code, n.entry_date, n.journal_entry_id, n.description, n.debit_amount, n.credit_amount,
           coalesce(pv.running_balance, 0)
             + sum(n.delta) OVER (PARTITION BY n.account_code ORDER BY n.journal_number, n.line_number)
    FROM new_lines n LEFT JOIN previous pv ON pv.account_code = n.account_code
    ORDER BY n.journal_number, n.line_number
"""

SETTLE = """
    UPDATE payroll_records p
    SET status = 'processed', accounting_transaction_id = je.id, processed_at = now(), updated_at = now()
    FROM journal_entries je
    WHERE je.source_service = 'payroll' AND je.source_id = p.id
      AND p.pay_period_start = $1 AND p.pay_period_end = $2 AND p.status = 'processing'
"""


async def payroll_run(conn: asyncpg.Connection, start: date, end: date, approver: uuid.UUID) -> dict[str, float]:
    """Calculate, approve and post one period for every payable employee, as three transactions
    (as the services do it in three steps); returns seconds per phase and the record count."""
    timings: dict[str, float] = {}
    began = time.perf_counter()
    async with conn.transaction():
        status = await conn.execute(CALCULATE, start, end)
    timings["calculate_s"] = time.perf_counter() - began
    timings["records"] = float(status.split()[-1])
    began = time.perf_counter()
    async with conn.transaction():
        await conn.execute(APPROVE, start, end, approver)
    timings["approve_s"] = time.perf_counter() - began
    began = time.perf_counter()
    async with conn.transaction():
        for statement in (POST_ENTRIES, POST_LINES, POST_LEDGER):
            await conn.execute(statement, start, end, *((approver,) if statement is POST_ENTRIES else ()))
        await conn.execute(SETTLE, start, end)
    timings["post_s"] = time.perf_counter() - began
    timings["total_s"] = timings["calculate_s"] + timings["approve_s"] + timings["post_s"]
    return timings
