"""demand tickets: the difficulties enterprises report, their routing, history and files

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 19:37:55

A ticket is routed by category (a versioned table admins edit) to a department of the
enterprise's district; co-handling departments are copied in; every change is an event.
Notifications may be about a ticket as well as an application.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('demand_routings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_demand_routings_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demand_routings')),
    sa.UniqueConstraint('version', name=op.f('uq_demand_routings_version'))
    )
    op.create_table('demand_routes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('routing_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.Enum('staff_return', 'logistics', 'supply_chain', 'prevention_supplies', 'testing', 'finance', 'utilities', 'policy', 'other', name='demandcategory', native_enum=False, length=32), nullable=False),
    sa.Column('department_code', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['routing_id'], ['demand_routings.id'], name=op.f('fk_demand_routes_routing_id_demand_routings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demand_routes')),
    sa.UniqueConstraint('routing_id', 'category', name=op.f('uq_demand_routes_routing_id_category'))
    )
    op.create_table('demands',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.Enum('staff_return', 'logistics', 'supply_chain', 'prevention_supplies', 'testing', 'finance', 'utilities', 'policy', 'other', name='demandcategory', native_enum=False, length=32), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('district', sa.String(length=6), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('pass_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('open', 'accepted', 'answered', 'reopened', 'assigned_by_supervisor', 'closed', 'closed_unconfirmed', 'withdrawn', name='demandstate', native_enum=False, length=32), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('routing_id', sa.Integer(), nullable=True),
    sa.Column('department_code', sa.String(length=32), nullable=True),
    sa.Column('scope', sa.String(length=6), nullable=True),
    sa.Column('transfers', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.CheckConstraint('rating IS NULL OR (rating >= 1 AND rating <= 5)', name=op.f('ck_demands_rating_1_to_5')),
    sa.CheckConstraint('transfers >= 0', name=op.f('ck_demands_transfers_not_negative')),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_demands_application_id_applications')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_demands_created_by_id_users')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_demands_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['pass_id'], ['passes.id'], name=op.f('fk_demands_pass_id_passes')),
    sa.ForeignKeyConstraint(['routing_id'], ['demand_routings.id'], name=op.f('fk_demands_routing_id_demand_routings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demands'))
    )
    with op.batch_alter_table('demands', schema=None) as batch_op:
        batch_op.create_index('ix_demands_created_at', ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_demands_district'), ['district'], unique=False)
        batch_op.create_index('ix_demands_enterprise', ['enterprise_id', 'id'], unique=False)
        batch_op.create_index('ix_demands_queue', ['department_code', 'scope', 'status', 'due_at', 'id'], unique=False)
        batch_op.create_index('ix_demands_status_due', ['status', 'due_at'], unique=False)

    op.create_table('demand_copies',
    sa.Column('demand_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_demand_copies_added_by_id_users')),
    sa.ForeignKeyConstraint(['demand_id'], ['demands.id'], name=op.f('fk_demand_copies_demand_id_demands'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_demand_copies_department_id_departments')),
    sa.PrimaryKeyConstraint('demand_id', 'department_id', name=op.f('pk_demand_copies'))
    )
    op.create_table('demand_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('demand_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_demand_events_actor_id_users')),
    sa.ForeignKeyConstraint(['demand_id'], ['demands.id'], name=op.f('fk_demand_events_demand_id_demands'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_demand_events_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demand_events'))
    )
    with op.batch_alter_table('demand_events', schema=None) as batch_op:
        batch_op.create_index('ix_demand_events_demand', ['demand_id', 'id'], unique=False)

    op.create_table('demand_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('demand_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=50), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['demand_id'], ['demands.id'], name=op.f('fk_demand_files_demand_id_demands'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['demand_events.id'], name=op.f('fk_demand_files_event_id_demand_events')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_demand_files_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demand_files')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_demand_files_storage_key'))
    )
    with op.batch_alter_table('demand_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_demand_files_demand_id'), ['demand_id'], unique=False)

    # The role `handler` (a department's user for tickets only) needs a department.
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f('ck_users_handler_has_department'), "role <> 'handler' OR department_id IS NOT NULL"
        )

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('demand_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notifications_demand_id_demands'), 'demands', ['demand_id'], ['id'], ondelete='CASCADE')



def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notifications_demand_id_demands'), type_='foreignkey')
        batch_op.drop_column('demand_id')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_handler_has_department'), type_='check')

    with op.batch_alter_table('demand_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_demand_files_demand_id'))

    op.drop_table('demand_files')
    with op.batch_alter_table('demand_events', schema=None) as batch_op:
        batch_op.drop_index('ix_demand_events_demand')

    op.drop_table('demand_events')
    op.drop_table('demand_copies')
    with op.batch_alter_table('demands', schema=None) as batch_op:
        batch_op.drop_index('ix_demands_status_due')
        batch_op.drop_index('ix_demands_queue')
        batch_op.drop_index('ix_demands_enterprise')
        batch_op.drop_index(batch_op.f('ix_demands_district'))
        batch_op.drop_index('ix_demands_created_at')

    op.drop_table('demands')
    op.drop_table('demand_routes')
    op.drop_table('demand_routings')
