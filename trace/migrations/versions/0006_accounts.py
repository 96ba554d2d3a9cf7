"""Accounts: organizations' GS1 company prefixes and assigned GTINs, one-time account links, disabled users,
named API tokens. An organization's single prefix column becomes rows of companyprefix.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 02:03:40.701454
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('assignedgtin',
    sa.Column('gtin', sqlmodel.sql.sqltypes.AutoString(length=14), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('gtin')
    )
    with op.batch_alter_table('assignedgtin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignedgtin_organization_id'), ['organization_id'], unique=False)

    op.create_table('companyprefix',
    sa.Column('prefix', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.PrimaryKeyConstraint('prefix')
    )
    with op.batch_alter_table('companyprefix', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_companyprefix_organization_id'), ['organization_id'], unique=False)

    op.create_table('accountlink',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('used_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('accountlink', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accountlink_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accountlink_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False,
                                      server_default=''))

    op.execute("INSERT INTO companyprefix (prefix, organization_id, created_at) SELECT gs1_company_prefix, id, "
               "created_at FROM organization WHERE gs1_company_prefix IS NOT NULL AND gs1_company_prefix <> ''")
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_code', sqlmodel.sql.sqltypes.AutoString(length=14), nullable=False,
                                      server_default=''))
        batch_op.drop_column('gs1_company_prefix')

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('disabled_at')

    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gs1_company_prefix', sa.VARCHAR(length=12), nullable=True))
        batch_op.drop_column('tax_code')
    op.execute("UPDATE organization SET gs1_company_prefix = (SELECT MIN(prefix) FROM companyprefix "
               "WHERE companyprefix.organization_id = organization.id)")

    with op.batch_alter_table('apitoken', schema=None) as batch_op:
        batch_op.drop_column('name')

    with op.batch_alter_table('accountlink', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accountlink_user_id'))
        batch_op.drop_index(batch_op.f('ix_accountlink_organization_id'))

    op.drop_table('accountlink')
    with op.batch_alter_table('companyprefix', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_companyprefix_organization_id'))

    op.drop_table('companyprefix')
    with op.batch_alter_table('assignedgtin', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignedgtin_organization_id'))

    op.drop_table('assignedgtin')
