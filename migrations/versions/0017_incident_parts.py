"""issue 20: incident followers, steps, site fault thresholds, outage mail times

Revision ID: 0017
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa
import portal.db


revision = '0017'
down_revision = '0019'  # after the waiting chargers
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('site_fault_settings',
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('offline_heartbeats', sa.Integer(), nullable=True),
    sa.Column('suspended_after_s', sa.Integer(), nullable=True),
    sa.Column('recovery_after_s', sa.Integer(), nullable=True),
    sa.Column('failed_starts', sa.Integer(), nullable=True),
    sa.Column('auto_soft_reset', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_site_fault_settings_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', name=op.f('pk_site_fault_settings'))
    )
    op.create_table('incident_followers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_followers_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_incident_followers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_followers')),
    sa.UniqueConstraint('incident_id', 'user_id', name='incident_user')
    )
    with op.batch_alter_table('incident_followers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_followers_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_followers_user_id'), ['user_id'], unique=False)

    op.create_table('incident_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=20), nullable=False),
    sa.Column('action_request_id', sa.Integer(), nullable=True),
    sa.Column('automatic', sa.Boolean(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['action_request_id'], ['action_requests.id'], name=op.f('fk_incident_steps_action_request_id_action_requests'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_incident_steps_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_steps_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_steps'))
    )
    with op.batch_alter_table('incident_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_steps_incident_id'), ['incident_id'], unique=False)

    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notified_at', portal.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('notified_over_at', portal.db.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('notified_over_at')
        batch_op.drop_column('notified_at')

    with op.batch_alter_table('incident_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_steps_incident_id'))

    op.drop_table('incident_steps')
    with op.batch_alter_table('incident_followers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_followers_user_id'))
        batch_op.drop_index(batch_op.f('ix_incident_followers_incident_id'))

    op.drop_table('incident_followers')
    op.drop_table('site_fault_settings')
