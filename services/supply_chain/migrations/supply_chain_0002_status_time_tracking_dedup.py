"""shipments.status_changed_at, one tracking entry per carrier update, carrier/status index

- `status_changed_at`: the event time of the change that set the current status (existing rows:
  delivered_at, else dispatched_at, else created_at), so a carrier update older than it is kept
  in the history without moving the status backwards.
- `uq_tracking_history_event`: (shipment, status, time, location) is unique, NULL locations
  comparing equal (PostgreSQL 15+), so a duplicated carrier update is stored once. Existing
  duplicates are removed first, keeping the earliest recorded one.
- `idx_shipments_carrier_status`: the carrier summary counts returned and lost shipments.

Revision ID: supply_chain_0002
Revises: supply_chain_0001
Create Date: 2026-11-26 03:38:23.426852
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'supply_chain_0002'
down_revision = 'supply_chain_0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('shipments', sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=True, comment='When the current status began: the event time of the change that set it'))
    op.execute('UPDATE shipments SET status_changed_at = COALESCE(delivered_at, dispatched_at, created_at)')
    op.alter_column('shipments', 'status_changed_at', nullable=False)
    op.create_index('idx_shipments_carrier_status', 'shipments', ['carrier', 'status'], unique=False)
    op.execute(
        """
        DELETE FROM tracking_history t
        USING tracking_history keep
        WHERE keep.shipment_id = t.shipment_id AND keep.status = t.status
          AND keep.timestamp = t.timestamp AND keep.location IS NOT DISTINCT FROM t.location
          AND (keep.created_at, keep.id) < (t.created_at, t.id)
        """
    )
    op.create_unique_constraint('uq_tracking_history_event', 'tracking_history', ['shipment_id', 'status', 'timestamp', 'location'], postgresql_nulls_not_distinct=True)


def downgrade() -> None:
    op.drop_constraint('uq_tracking_history_event', 'tracking_history', type_='unique')
    op.drop_index('idx_shipments_carrier_status', table_name='shipments')
    op.drop_column('shipments', 'status_changed_at')
