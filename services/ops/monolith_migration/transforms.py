"""What the services' tables have that the monolith's do not, and how each is derived from the
monolith (SQL evaluated on the source, inside the extract's snapshot). analyse.py writes these
into the plan, where the operator can read and change them.

Conventions: `s` is the source row of the table being copied; `joins` add LEFT JOINs (never
inner: a missing parent must not hide a row, it must fail loudly or show up in verify).

- `compare`: verify includes the column in the checksum (the same expression on the source side).
  Off for snapshot-style copies the services keep as they were when written (payroll records
  keep the employee's name at the time; a rename later does not rewrite history).
- `keep_on_update`: sync never rewrites the column of an existing row (same reason; and posted
  journal entries are immutable in accounting_db).
"""

from __future__ import annotations

from dataclasses import dataclass, field

RUN_ID = "md5('erp.payroll_run:' || to_char({start}, 'YYYY-MM-DD') || ':' || to_char({end}, 'YYYY-MM-DD'))::uuid"
PERIOD_ID = "md5('erp.fiscal_period:' || to_char({day}, 'YYYY-MM'))::uuid"
OPEN_INVOICE_STATUSES = "('sent', 'partially_paid', 'overdue')"
OPEN_PO_STATUSES = "('pending', 'approved', 'ordered', 'partially_received')"


@dataclass(frozen=True)
class Derived:
    expr: str
    why: str
    compare: bool = True
    keep_on_update: bool = False


@dataclass(frozen=True)
class TableRules:
    joins: str = ""
    from_: str | None = None  # replaces `"<table>" s <joins>` entirely
    columns: dict[str, Derived] = field(default_factory=dict)
    replaces: dict[str, str] = field(default_factory=dict)  # source column -> target column carrying it
    refresh_on: dict[str, str] = field(default_factory=dict)  # source table -> its column holding our key
    refresh_via: dict[str, str] = field(default_factory=dict)  # source table -> our expression holding its key
    refetch_from: str | None = None  # FROM used to re-read a few keys ($1 = the keys), when `from` is costly


@dataclass(frozen=True)
class DerivedTable:
    """A target table with no monolith counterpart, computed from monolith tables."""

    sql: str  # SELECT producing the target's column names
    columns: tuple[str, ...]
    inputs: tuple[str, ...]  # source tables whose changes re-derive it (sync refreshes it whole)
    why: str


PAYROLL_RUNS = DerivedTable(
    sql=f"""
SELECT {RUN_ID.format(start="p.pay_period_start", end="p.pay_period_end")} AS id,
       p.pay_period_start, p.pay_period_end,
       CASE WHEN count(p.approved_by) = 0 THEN 'pending'
            WHEN count(*) FILTER (WHERE p.status = 'processing') > 0 THEN 'processing'
            WHEN count(*) FILTER (WHERE p.status = 'failed') > 0 THEN 'failed'
            WHEN count(*) FILTER (WHERE p.status = 'paid') = count(*) THEN 'paid'
            WHEN count(*) FILTER (WHERE p.status IN ('paid', 'processed')) = count(*) THEN 'processed'
            ELSE 'approved' END AS status,
       (SELECT t.id FROM tax_rates t
         WHERE t.effective_from <= p.pay_period_end AND (t.effective_to IS NULL OR t.effective_to >= p.pay_period_end)
         ORDER BY t.effective_from DESC LIMIT 1) AS tax_rate_id,
       min(p.approved_by::text)::uuid AS approved_by,
       min(p.approved_at) AS approved_at,
       count(*) AS employee_count,
       sum(p.gross_pay) AS total_gross,
       sum(p.federal_tax) AS total_federal_tax,
       sum(p.state_tax) AS total_state_tax,
       sum(p.social_security_tax) AS total_social_security_tax,
       sum(p.medicare_tax) AS total_medicare_tax,
       coalesce(sum(p.deductions), 0) AS total_deductions,
       sum(p.net_pay) AS total_net,
       count(*) FILTER (WHERE p.status IS NULL OR p.status IN ('pending', 'approved')) AS pending_count,
       count(*) FILTER (WHERE p.status = 'processing') AS processing_count,
       count(*) FILTER (WHERE p.status = 'processed') AS processed_count,
       count(*) FILTER (WHERE p.status = 'paid') AS paid_count,
       count(*) FILTER (WHERE p.status = 'failed') AS failed_count
FROM payroll_records p
GROUP BY p.pay_period_start, p.pay_period_end""",
    columns=(
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
        "total_deductions",
        "total_net",
        "pending_count",
        "processing_count",
        "processed_count",
        "paid_count",
        "failed_count",
    ),
    inputs=("payroll_records", "tax_rates"),
    why="one run per pay period of the monolith's records (deterministic id from the period), totals and "
    "per-status counts from its records, the tax rate in force at the period's end",
)

FISCAL_PERIODS = DerivedTable(
    sql=f"""
SELECT {PERIOD_ID.format(day="m.d")} AS id,
       extract(year FROM m.d)::integer AS fiscal_year,
       extract(month FROM m.d)::integer AS period_number,
       m.d AS start_date,
       (m.d + interval '1 month' - interval '1 day')::date AS end_date,
       'open' AS status
FROM (SELECT DISTINCT date_trunc('month', entry_date)::date AS d FROM journal_entries) m""",
    columns=("id", "fiscal_year", "period_number", "start_date", "end_date", "status"),
    inputs=("journal_entries",),
    why="one open monthly period per month that has journal entries (the ledger refuses entries outside "
    "an open period; closing old periods is a business decision left to the accounting API)",
)

DERIVED_TABLES: dict[tuple[str, str], DerivedTable] = {
    ("payroll", "payroll_runs"): PAYROLL_RUNS,
    ("accounting", "fiscal_periods"): FISCAL_PERIODS,
}

_LEDGER_MATCH = """
(SELECT g.*, row_number() OVER (PARTITION BY g.journal_entry_id, g.account_code, g.debit_amount, g.credit_amount
                                ORDER BY g.seq) AS erp_n
   FROM general_ledger g {where}) s
LEFT JOIN (SELECT l.id, l.journal_entry_id, l.account_code, l.debit_amount, l.credit_amount,
                  row_number() OVER (PARTITION BY l.journal_entry_id, l.account_code, l.debit_amount, l.credit_amount
                                     ORDER BY l.line_number) AS erp_n
             FROM journal_entry_lines l {where_l}) jl
  ON jl.journal_entry_id = s.journal_entry_id AND jl.account_code = s.account_code
 AND jl.debit_amount IS NOT DISTINCT FROM s.debit_amount AND jl.credit_amount IS NOT DISTINCT FROM s.credit_amount
 AND jl.erp_n = s.erp_n"""
_LEDGER_ENTRIES_OF_KEYS = "(SELECT journal_entry_id FROM general_ledger WHERE id = ANY($1::text[]::uuid[]))"

RULES: dict[tuple[str, str], TableRules] = {
    ("payroll", "payroll_records"): TableRules(
        joins="LEFT JOIN employees e ON e.id = s.employee_id LEFT JOIN departments d ON d.id = e.department_id",
        columns={
            "employee_name": Derived(
                "e.first_name || ' ' || e.last_name",
                "the employee's name from the monolith's employees (spec phase 2.3)",
                compare=False,
                keep_on_update=True,
            ),
            "department": Derived(
                "d.name",
                "the employee's department name from the monolith's departments (spec phase 2.3)",
                compare=False,
                keep_on_update=True,
            ),
            "payroll_run_id": Derived(
                RUN_ID.format(start="s.pay_period_start", end="s.pay_period_end"), "the run of the record's period"
            ),
            "failure_reason": Derived(
                "CASE WHEN s.status = 'failed' THEN 'failed in the monolith (migrated)' END",
                "the target requires a reason on failed records",
            ),
        },
    ),
    ("accounting", "journal_entries"): TableRules(
        joins="LEFT JOIN payroll_records pr ON s.source_service = 'payroll' AND pr.id = s.source_id "
        "LEFT JOIN employees pe ON pe.id = pr.employee_id LEFT JOIN departments pd ON pd.id = pe.department_id "
        "LEFT JOIN (SELECT reference AS dup FROM journal_entries WHERE reference IS NOT NULL "
        "GROUP BY reference HAVING count(*) > 1) dup ON dup.dup = s.reference",
        columns={
            "fiscal_period_id": Derived(PERIOD_ID.format(day="s.entry_date"), "the monthly period of the entry date"),
            "posting_key": Derived(
                "CASE WHEN s.source_service IS NOT NULL AND s.reference ~ '^[a-z_]+\\.[a-z_-]+:' AND dup.dup IS NULL "
                "THEN s.reference END",
                "the reference when it has the services' posting-key form and is unique, so a repeated "
                "posting request for a migrated record posts nothing new",
                compare=False,
                keep_on_update=True,
            ),
            "department": Derived(
                "pd.name",
                "the department of the payroll record's employee (finance attributes spend by it)",
                compare=False,
                keep_on_update=True,
            ),
        },
    ),
    ("accounting", "general_ledger"): TableRules(
        from_=_LEDGER_MATCH.format(where="", where_l=""),
        columns={
            "journal_line_id": Derived(
                "jl.id", "the journal line the ledger row posts (same entry, account and amounts, in order)"
            )
        },
        refetch_from=_LEDGER_MATCH.format(
            where=f"WHERE g.journal_entry_id IN {_LEDGER_ENTRIES_OF_KEYS}",
            where_l=f"WHERE l.journal_entry_id IN {_LEDGER_ENTRIES_OF_KEYS}",
        ),
    ),
    ("billing", "customers"): TableRules(
        columns={
            "current_balance": Derived(
                "(SELECT coalesce(sum(i.total_amount - coalesce(i.paid_amount, 0)), 0) FROM invoices i "
                f"WHERE i.customer_id = s.id AND i.status IN {OPEN_INVOICE_STATUSES})",
                "recomputed as the billing service defines it: the amount due of the open invoices",
            )
        },
        refresh_on={"invoices": "customer_id"},
    ),
    ("billing", "invoices"): TableRules(
        columns={
            "issued_at": Derived(
                "CASE WHEN coalesce(s.status, 'pending') IN ('pending', 'cancelled') THEN NULL "
                "ELSE s.invoice_date::timestamp AT TIME ZONE 'UTC' END",
                "issued invoices need an issue time: the invoice date (midnight UTC)",
            )
        },
    ),
    ("inventory", "inventory_items"): TableRules(
        columns={
            "reorder_triggered": Derived(
                "coalesce(s.quantity_on_hand, 0) - coalesce(s.quantity_reserved, 0) <= s.reorder_point AND EXISTS "
                "(SELECT 1 FROM purchase_order_items pi JOIN purchase_orders po ON po.id = pi.purchase_order_id "
                f"WHERE pi.sku = s.sku AND po.status IN {OPEN_PO_STATUSES})",
                "items at or below their reorder point with an open purchase order count as already reordered, "
                "so the service does not order them again",
                compare=False,
            )
        },
    ),
    ("supply_chain", "shipments"): TableRules(
        columns={
            "status_changed_at": Derived(
                "coalesce(CASE s.status WHEN 'delivered' THEN s.delivered_at WHEN 'in_transit' THEN s.dispatched_at "
                "END, s.updated_at, s.created_at, '1970-01-01')::timestamp AT TIME ZONE 'UTC'",
                "when the current status began: delivery/dispatch time, else the last update",
            )
        },
    ),
    ("finance", "budgets"): TableRules(
        joins="LEFT JOIN departments bd ON bd.id = s.department_id",
        columns={"department": Derived("bd.name", "the department's name (finance keys budgets by name)")},
        replaces={"department_id": "department"},
        refresh_via={"departments": "s.department_id"},
    ),
    ("finance", "budget_transactions"): TableRules(
        from_="(SELECT b.*, row_number() OVER (PARTITION BY b.journal_entry_id ORDER BY b.id) AS erp_n "
        "FROM budget_transactions b) s",
        columns={
            "journal_line_number": Derived(
                "s.erp_n",
                "an ordinal per journal entry (the monolith does not say which line was charged)",
                compare=False,
                keep_on_update=True,
            )
        },
    ),
}

# Target tables whose migration seeds rows: the monolith's rows replace them (verify then compares
# the monolith's chart with the copy; backfill reports standard accounts the monolith lacks).
SEEDED_BY_MIGRATIONS: frozenset[tuple[str, str]] = frozenset({("accounting", "chart_of_accounts")})

# Units copied in one target transaction: accounting checks at COMMIT that every entry has
# balanced lines, so entries and their lines must arrive together.
COPY_GROUPS: dict[str, tuple[str, ...]] = {"accounting": ("journal_entries", "journal_entry_lines")}


@dataclass(frozen=True)
class BulkCheck:
    """Row-by-row constraint triggers replaced, for one bulk copy, by the same assertion made once
    over the whole set before the unit commits (the triggers are disabled and re-enabled inside the
    unit's transaction, so no other session ever sees them off). The check returns offending rows."""

    triggers: tuple[str, ...]  # table.trigger
    check_sql: str
    why: str


BULK_CHECKS: dict[str, BulkCheck] = {
    "accounting.journal_entries+journal_entry_lines": BulkCheck(
        triggers=(
            "journal_entries.trg_journal_entries_balanced",
            "journal_entry_lines.trg_journal_entry_lines_balanced",
        ),
        check_sql="""
SELECT e.journal_number, count(l.id) AS lines, coalesce(sum(l.debit_amount), 0) AS debits,
       coalesce(sum(l.credit_amount), 0) AS credits, e.total_debit, e.total_credit
FROM journal_entries e LEFT JOIN journal_entry_lines l ON l.journal_entry_id = e.id
GROUP BY e.id
HAVING count(l.id) < 2
    OR coalesce(sum(l.debit_amount), 0) <> coalesce(sum(l.credit_amount), 0)
    OR coalesce(sum(l.debit_amount), 0) <> e.total_debit
    OR coalesce(sum(l.credit_amount), 0) <> e.total_credit
ORDER BY 1 LIMIT 20""",
        why="accounting_assert_entry_balanced (>= 2 lines, debits = credits = header totals) for every entry at once "
        "instead of once per inserted row at COMMIT",
    )
}

# The order of phase 4: least dependent first, accounting last (spec "Gradual Migration").
CUTOVER_ORDER: tuple[str, ...] = (
    "supply_chain",
    "inventory",
    "procurement",
    "billing",
    "employee",
    "payroll",
    "finance",
    "accounting",
)

# Target tables the monolith has no rows for, filled by backfill.py from the copied data.
BACKFILLED: dict[tuple[str, str], str] = {
    ("payroll", "employee_cache"): "payroll's copy of the employees (from the monolith's employees/departments)",
    ("accounting", "journal_sequences"): "last journal number per year (JE-<year>-<n>) of the copied entries",
    ("billing", "invoice_number_sequences"): "last invoice number per year (INV-<year>-<n>) of the copied invoices",
    ("billing", "credit_note_number_sequences"): "last credit note number per year (CN-<year>-<n>)",
    ("procurement", "po_number_sequences"): "last purchase order number per year (PO-<year>-<n>)",
    ("supply_chain", "shipment_number_sequences"): "last shipment number per year (SH-<year>-<n>)",
    (
        "finance",
        "accounting_data_cache",
    ): "balance per account at every date it moved (as finance's consumer builds it)",
    ("finance", "applied_journal_entries"): "every copied journal entry, marked as already applied to the budgets",
}
