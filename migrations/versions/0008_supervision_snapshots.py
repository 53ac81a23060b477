"""supervision snapshots: the dashboard's figures as last computed

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 23:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('supervision_snapshots',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('figures', sa.JSON(), nullable=True),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refreshing_since', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_snapshots'))
    )


def downgrade():
    op.drop_table('supervision_snapshots')
