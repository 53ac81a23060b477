"""who set an account's password for it (two-person rule); failed log-ins per account

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 17:00:00

An administrator who sets another account's password (creation or reset) knows it: the account
remembers when and by whom, so it does not count as a second person to that administrator.

Failed log-ins per account are counted in the database, so that every worker and app server
sees one count (the rate limiter's default storage is per process).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_failures',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('is_owner_told', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_failures'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handed_over_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('handed_over_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            'fk_users_handed_over_by_id_users', 'users', ['handed_over_by_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('fk_users_handed_over_by_id_users', type_='foreignkey')
        batch_op.drop_column('handed_over_by_id')
        batch_op.drop_column('handed_over_at')

    op.drop_table('login_failures')
