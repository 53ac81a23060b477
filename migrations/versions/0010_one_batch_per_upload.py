"""one batch per upload: application_batches.upload_key, unique

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 17:00:00

Six presses of "submit" on one uploaded spreadsheet at the same moment made two batches (every
vehicle in review twice). The batch now names the upload it came from, and the unique constraint
lets exactly one submit claim it; NULL (batches sent through the API) repeats freely.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('application_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('upload_key', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f('uq_application_batches_upload_key'), ['upload_key']
        )


def downgrade():
    with op.batch_alter_table('application_batches', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_application_batches_upload_key'), type_='unique')
        batch_op.drop_column('upload_key')
