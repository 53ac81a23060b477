"""supervision indexes: submissions per day, overdue applications, recent scans

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 20:50:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_applications_submitted_at', 'applications', ['submitted_at'])
    op.create_index('ix_applications_status_due', 'applications', ['status', 'step_due_at'])
    op.create_index('ix_scan_events_scanned_at', 'scan_events', ['scanned_at'])


def downgrade():
    op.drop_index('ix_scan_events_scanned_at', table_name='scan_events')
    op.drop_index('ix_applications_status_due', table_name='applications')
    op.drop_index('ix_applications_submitted_at', table_name='applications')
