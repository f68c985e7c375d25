"""invoice_summary carries due_date (overdue is derived at read time) and is indexed by number

Revision ID: billing_0002
Revises: billing_0001
Create Date: 2026-11-27 09:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = 'billing_0002'
down_revision = 'billing_0001'
branch_labels = None
depends_on = None

# The spec's read model plus i.due_date: a SENT or PARTIALLY_PAID invoice past its due date reads
# as OVERDUE before the overdue job has stored that status, in the read model as everywhere else.
INVOICE_SUMMARY_SQL = """
CREATE MATERIALIZED VIEW invoice_summary AS
SELECT
    i.id,
    i.invoice_number,
    i.customer_id,
    c.name AS customer_name,
    i.total_amount,
    i.paid_amount,
    i.status,
    i.due_date,
    COUNT(ili.id) AS line_item_count
FROM invoices i
JOIN customers c ON i.customer_id = c.id
LEFT JOIN invoice_line_items ili ON i.id = ili.invoice_id
GROUP BY i.id, c.name
"""

ORIGINAL_SQL = """
CREATE MATERIALIZED VIEW invoice_summary AS
SELECT
    i.id,
    i.invoice_number,
    i.customer_id,
    c.name AS customer_name,
    i.total_amount,
    i.paid_amount,
    i.status,
    COUNT(ili.id) AS line_item_count
FROM invoices i
JOIN customers c ON i.customer_id = c.id
LEFT JOIN invoice_line_items ili ON i.id = ili.invoice_id
GROUP BY i.id, c.name
"""


def _indexes(with_number: bool) -> None:
    # The unique index lets REFRESH MATERIALIZED VIEW CONCURRENTLY run without blocking readers.
    op.execute('CREATE UNIQUE INDEX idx_invoice_summary_id ON invoice_summary (id)')
    op.execute('CREATE INDEX idx_invoice_summary_customer ON invoice_summary (customer_id)')
    op.execute('CREATE INDEX idx_invoice_summary_status ON invoice_summary (status)')
    if with_number:
        # ListInvoiceSummaries pages by invoice number, newest first.
        op.execute('CREATE INDEX idx_invoice_summary_number ON invoice_summary (invoice_number)')


def upgrade() -> None:
    op.execute('DROP MATERIALIZED VIEW invoice_summary')
    op.execute(INVOICE_SUMMARY_SQL)
    _indexes(with_number=True)


def downgrade() -> None:
    op.execute('DROP MATERIALIZED VIEW invoice_summary')
    op.execute(ORIGINAL_SQL)
    _indexes(with_number=False)
