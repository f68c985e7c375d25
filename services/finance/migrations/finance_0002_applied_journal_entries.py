"""finance_db: applied_journal_entries, the per-entry idempotency gate of spend and cache

Revision ID: finance_0002
Revises: finance_0001
Create Date: 2026-11-27 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'finance_0002'
down_revision = 'finance_0001'
branch_labels = None
depends_on = None

JOURNAL_ENTRY_REF = 'Logical reference to Accounting Service - journal_entries.id'


def upgrade() -> None:
    op.create_table('applied_journal_entries',
    sa.Column('journal_entry_id', sa.UUID(), nullable=False, comment=JOURNAL_ENTRY_REF),
    sa.Column('journal_number', sa.String(length=50), nullable=False),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('source_service', sa.String(length=50), nullable=True),
    sa.Column('reversal_of_id', sa.UUID(), nullable=True, comment=JOURNAL_ENTRY_REF),
    sa.Column('applied_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('journal_entry_id', name=op.f('pk_applied_journal_entries')),
    comment="Journal entries whose spend and balance deltas finance has applied (idempotency)"
    )
    op.create_index('idx_applied_journal_entries_date', 'applied_journal_entries', ['entry_date'], unique=False)


def downgrade() -> None:
    op.drop_index('idx_applied_journal_entries_date', table_name='applied_journal_entries')
    op.drop_table('applied_journal_entries')
