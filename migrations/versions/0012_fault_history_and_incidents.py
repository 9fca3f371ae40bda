"""issue 20: the record of connector statuses and charger connections (one row per change), and incidents

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa
import portal.db


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('charger_connection_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('charge_point_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('node_id', sa.String(length=64), nullable=False),
    sa.Column('at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('connected','disconnected','offline')", name=op.f('ck_charger_connection_changes_state')),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_charger_connection_changes_charge_point_id_charge_points'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charger_connection_changes'))
    )
    with op.batch_alter_table('charger_connection_changes', schema=None) as batch_op:
        batch_op.create_index('ix_charger_connection_changes_cp_at', ['charge_point_id', 'at'], unique=False)

    op.create_table('connector_status_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('charge_point_id', sa.Integer(), nullable=False),
    sa.Column('connector_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error_code', sa.String(length=32), nullable=False),
    sa.Column('vendor_error_code', sa.String(length=50), nullable=False),
    sa.Column('info', sa.String(length=50), nullable=False),
    sa.Column('at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_connector_status_changes_charge_point_id_charge_points'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_connector_status_changes'))
    )
    with op.batch_alter_table('connector_status_changes', schema=None) as batch_op:
        batch_op.create_index('ix_connector_status_changes_cp_conn_at', ['charge_point_id', 'connector_id', 'at'], unique=False)

    op.create_table('incidents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('charge_point_id', sa.Integer(), nullable=True),
    sa.Column('connector_id', sa.Integer(), nullable=True),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('cause', sa.String(length=20), nullable=False),
    sa.Column('error_code', sa.String(length=32), nullable=False),
    sa.Column('vendor_error_code', sa.String(length=50), nullable=False),
    sa.Column('info', sa.String(length=50), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('open_key', sa.String(length=120), nullable=True),
    sa.Column('started_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('opened_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_event_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('recovering_since', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=10), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('downtime_owner', sa.String(length=20), nullable=False),
    sa.Column('cause_found', sa.Text(), nullable=False),
    sa.CheckConstraint("cause IN ('faulted','offline','suspended_evse','unavailable','failed_starts','site_dark')", name=op.f('ck_incidents_cause')),
    sa.CheckConstraint("downtime_owner IN ('unknown','operator','cooperative_network','cooperative_power','grid')", name=op.f('ck_incidents_downtime_owner')),
    sa.CheckConstraint("scope IN ('connector','charger','site')", name=op.f('ck_incidents_scope')),
    sa.CheckConstraint("status IN ('open','recovering','resolved')", name=op.f('ck_incidents_status')),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_incidents_charge_point_id_charge_points'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_incidents_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['support_tickets.id'], name=op.f('fk_incidents_ticket_id_support_tickets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents')),
    sa.UniqueConstraint('open_key', name=op.f('uq_incidents_open_key'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incidents_charge_point_id'), ['charge_point_id'], unique=False)
        batch_op.create_index('ix_incidents_site_status', ['site_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_incidents_ticket_id'), ['ticket_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_ticket_id'))
        batch_op.drop_index('ix_incidents_site_status')
        batch_op.drop_index(batch_op.f('ix_incidents_charge_point_id'))

    op.drop_table('incidents')
    with op.batch_alter_table('connector_status_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_connector_status_changes_cp_conn_at')

    op.drop_table('connector_status_changes')
    with op.batch_alter_table('charger_connection_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_charger_connection_changes_cp_at')

    op.drop_table('charger_connection_changes')
