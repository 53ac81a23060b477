"""scan log without foreign keys; client_id unique only where set

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 02:50:00

The scan log takes thousands of rows a second at a city's peak. Each foreign key check locked
the pass's, the user's and the checkpoint's row for every scan (the same few rows, from every
worker's batch); the rows it names are never deleted. Online scans have no client id, so the
unique index on it only needs the offline ones.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

_KEYS = (
    ('fk_scan_events_pass_id_passes', 'passes', 'pass_id'),
    ('fk_scan_events_checkpoint_id_checkpoints', 'checkpoints', 'checkpoint_id'),
    ('fk_scan_events_user_id_users', 'users', 'user_id'),
)
_SET = sa.text('client_id IS NOT NULL')


def upgrade():
    with op.batch_alter_table('scan_events', schema=None) as batch_op:
        for name, _table, _column in _KEYS:
            batch_op.drop_constraint(name, type_='foreignkey')
        batch_op.drop_constraint('uq_scan_events_client_id', type_='unique')
    op.create_index(
        'uq_scan_events_client_id', 'scan_events', ['client_id'], unique=True,
        postgresql_where=_SET, sqlite_where=_SET,
    )


def downgrade():
    op.drop_index('uq_scan_events_client_id', table_name='scan_events')
    with op.batch_alter_table('scan_events', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_scan_events_client_id', ['client_id'])
        for name, table, column in _KEYS:
            batch_op.create_foreign_key(name, table, [column], ['id'])
