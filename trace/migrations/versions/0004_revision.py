"""A revision counter: every transaction that changes what a scan shows raises it, so scan facts can be cached.
Scans are indexed with their client, so counting a label's distinct clients reads the index alone.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 00:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table('revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.bulk_insert(table, [{"id": 1, "value": 0}])
    with op.batch_alter_table('scan', schema=None) as batch_op:
        batch_op.drop_index('ix_scan_lot_serial')
        batch_op.create_index('ix_scan_lot_serial_client', ['lot_id', 'serial', 'client'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('scan', schema=None) as batch_op:
        batch_op.drop_index('ix_scan_lot_serial_client')
        batch_op.create_index('ix_scan_lot_serial', ['lot_id', 'serial'], unique=False)
    op.drop_table('revision')
