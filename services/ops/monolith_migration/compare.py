"""Step 5b (spec phase 4.1, "Compare results for consistency"): ask the monolith and the services
the same business questions and report every difference. Each question is answered by plain SQL
on both sides (the monolith's schema and the owning service's database) with every value rendered
as text (amounts without trailing zeros), then compared row by row on the question's key."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from services.ops.monolith_migration import plan as plan_mod
from services.ops.monolith_migration.common import Context, StepResult, progress_bar, targets, timed
from services.ops.monolith_migration.transforms import OPEN_INVOICE_STATUSES

SHOW = 10


@dataclass(frozen=True)
class Question:
    name: str
    service: str
    key_columns: int
    source_sql: str
    target_sql: str | None = None  # None: the same SQL

    @property
    def target(self) -> str:
        return self.target_sql or self.source_sql


def _amount(expr: str) -> str:
    return f"trim_scale(({expr})::numeric)::text"


BALANCES = f"""
SELECT a.account_code,
       {
    _amount(
        "sum(CASE WHEN a.account_type IN ('asset', 'expense') "
        "THEN coalesce(l.debit_amount, 0) - coalesce(l.credit_amount, 0) "
        "ELSE coalesce(l.credit_amount, 0) - coalesce(l.debit_amount, 0) END)"
    )
} AS balance
FROM journal_entry_lines l
JOIN journal_entries e ON e.id = l.journal_entry_id
JOIN chart_of_accounts a ON a.account_code = l.account_code
WHERE coalesce(e.status, 'posted') <> 'draft'
GROUP BY a.account_code
"""

QUESTIONS: tuple[Question, ...] = (
    Question(
        "employee list",
        "employee",
        1,
        "SELECT e.id::text, e.first_name, e.last_name, e.email, coalesce(e.status, 'active'), e.job_title, "
        f"{_amount('e.salary')}, d.name AS department "
        "FROM employees e LEFT JOIN departments d ON d.id = e.department_id",
    ),
    Question(
        "payroll totals per period",
        "payroll",
        2,
        "SELECT pay_period_start::text, pay_period_end::text, count(*)::text, "
        f"{_amount('sum(gross_pay)')}, {_amount('sum(federal_tax + state_tax + social_security_tax + medicare_tax)')}, "
        f"{_amount('sum(coalesce(deductions, 0))')}, {_amount('sum(net_pay)')} "
        "FROM payroll_records GROUP BY 1, 2",
    ),
    Question("account balances", "accounting", 1, BALANCES),
    Question(
        "open invoices",
        "billing",
        1,
        "SELECT id::text, invoice_number, customer_id::text, invoice_date::text, due_date::text, "
        f"{_amount('total_amount - coalesce(paid_amount, 0)')} AS due "
        f"FROM invoices WHERE status IN {OPEN_INVOICE_STATUSES}",
        "SELECT id::text, invoice_number, customer_id::text, invoice_date::text, due_date::text, "
        f"{_amount('amount_due')} AS due FROM invoices WHERE status IN {OPEN_INVOICE_STATUSES}",
    ),
    Question(
        "stock levels",
        "inventory",
        1,
        "SELECT sku, coalesce(quantity_on_hand, 0)::text, coalesce(quantity_reserved, 0)::text, "
        "coalesce(quantity_on_order, 0)::text, coalesce(status, 'active') FROM inventory_items",
    ),
    Question(
        "purchase orders",
        "procurement",
        1,
        f"SELECT po_number, vendor_id::text, coalesce(status, 'pending'), {_amount('total_amount')} "
        "FROM purchase_orders",
    ),
    Question(
        "budgets",
        "finance",
        4,
        "SELECT d.name, b.fiscal_year::text, coalesce(b.quarter::text, '-'), b.category, "
        f"{_amount('b.allocated_amount')}, {_amount('coalesce(b.spent_amount, 0)')} "
        "FROM budgets b LEFT JOIN departments d ON d.id = b.department_id",
        "SELECT department, fiscal_year::text, coalesce(quarter::text, '-'), category, "
        f"{_amount('allocated_amount')}, {_amount('spent_amount')} FROM budgets",
    ),
    Question(
        "shipments",
        "supply_chain",
        1,
        "SELECT shipment_number, order_id::text, coalesce(status, 'pending'), carrier FROM shipments",
    ),
)


def _rows(records: list[asyncpg.Record], key_columns: int) -> dict[tuple[str | None, ...], tuple[str | None, ...]]:
    out: dict[tuple[str | None, ...], tuple[str | None, ...]] = {}
    for r in records:
        values = tuple(None if v is None else str(v) for v in r.values())
        out[values[:key_columns]] = values[key_columns:]
    return out


def _key(key: tuple[str | None, ...]) -> str:
    return "/".join(str(k) for k in key)


def differences(question: Question, source: list[asyncpg.Record], target: list[asyncpg.Record]) -> list[str]:
    a, b = _rows(source, question.key_columns), _rows(target, question.key_columns)
    out = []
    missing = sorted(set(a) - set(b), key=_key)
    extra = sorted(set(b) - set(a), key=_key)
    changed = sorted((k for k in set(a) & set(b) if a[k] != b[k]), key=_key)
    if missing:
        out.append(f"{question.name}: {len(missing)} only in the monolith: {', '.join(map(_key, missing[:SHOW]))}")
    if extra:
        out.append(f"{question.name}: {len(extra)} only in {question.service}: {', '.join(map(_key, extra[:SHOW]))}")
    for k in changed[:SHOW]:
        out.append(f"{question.name} {_key(k)}: monolith {a[k]}, {question.service} {b[k]}")
    if len(changed) > SHOW:
        out.append(f"{question.name}: {len(changed) - SHOW} more differing rows")
    return out


async def run_compare(ctx: Context) -> StepResult:
    result = StepResult("compare")
    with timed(result):
        plan = plan_mod.load(ctx.plan_path)
        services = plan.services()
        questions = [q for q in QUESTIONS if q.service in services]
        async with (
            ctx.connected_source() as src,
            targets(ctx, services) as conns,
            src.transaction(isolation="repeatable_read", readonly=True),
        ):
            with progress_bar(ctx, "compare", len(questions)) as advance:
                for q in questions:
                    source = await src.fetch(q.source_sql)
                    target = await conns[q.service].fetch(q.target)
                    found = differences(q, source, target)
                    result.problems += found
                    state = "same" if not found else f"{len(found)} differences"
                    result.lines.append(f"{q.name:<28} {len(source):>9,} rows: {state}")
                    advance(1, q.name)
        result.data["questions"] = len(questions)
    return result
