"""Label reports: a shopper's report of a label that did not check out

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 03:48:20.485478
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('labelreport',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2100), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('client', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('reported_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('labelreport', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_labelreport_reported_at'), ['reported_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('labelreport', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_labelreport_reported_at'))

    op.drop_table('labelreport')
