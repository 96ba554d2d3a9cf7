"""English names: an organization's name and address, a certifier's name, for English pages

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 06:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_en', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('address_en', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False,
                                      server_default=''))
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('certifier_en', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_column('certifier_en')
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_column('address_en')
        batch_op.drop_column('name_en')
