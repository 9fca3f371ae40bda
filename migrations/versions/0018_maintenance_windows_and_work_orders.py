"""issue 20 parts 5-6: maintenance windows (left out of uptime), work orders and their photos

Revision ID: 0018
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa
import portal.db


revision = '0018'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('maintenance_windows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('charge_point_id', sa.Integer(), nullable=True),
    sa.Column('starts_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_maintenance_windows_ends_after_start')),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_maintenance_windows_charge_point_id_charge_points'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_maintenance_windows_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_maintenance_windows_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_windows'))
    )
    with op.batch_alter_table('maintenance_windows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maintenance_windows_charge_point_id'), ['charge_point_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_maintenance_windows_site_id'), ['site_id'], unique=False)

    op.create_table('work_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('charge_point_id', sa.Integer(), nullable=True),
    sa.Column('incident_id', sa.Integer(), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('installer_company', sa.String(length=120), nullable=False),
    sa.Column('technician_name', sa.String(length=120), nullable=False),
    sa.Column('technician_email', sa.String(length=254), nullable=False),
    sa.Column('technician_phone', sa.String(length=32), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('access_window', sa.String(length=200), nullable=False),
    sa.Column('story', sa.Text(), nullable=False),
    sa.Column('parts_planned', sa.Text(), nullable=False),
    sa.Column('scheduled_for', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('arrived_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('parts_used', sa.Text(), nullable=False),
    sa.Column('close_reason', sa.Text(), nullable=False),
    sa.Column('access_token_hash', sa.String(length=64), nullable=True),
    sa.Column('access_token_used_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('draft','sent','scheduled','on_site','done','cancelled')", name=op.f('ck_work_orders_status')),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_work_orders_charge_point_id_charge_points'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_work_orders_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_work_orders_incident_id_incidents'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_work_orders_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['support_tickets.id'], name=op.f('fk_work_orders_ticket_id_support_tickets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_orders')),
    sa.UniqueConstraint('access_token_hash', name=op.f('uq_work_orders_access_token_hash'))
    )
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_orders_charge_point_id'), ['charge_point_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_orders_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_orders_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_orders_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_work_orders_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('work_order_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('storage_key', sa.String(length=80), nullable=False),
    sa.Column('content_type', sa.String(length=20), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("content_type IN ('image/jpeg','image/png')", name=op.f('ck_work_order_photos_content_type')),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_orders.id'], name=op.f('fk_work_order_photos_work_order_id_work_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_order_photos')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_work_order_photos_storage_key'))
    )
    with op.batch_alter_table('work_order_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_order_photos_work_order_id'), ['work_order_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('work_order_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_order_photos_work_order_id'))

    op.drop_table('work_order_photos')
    with op.batch_alter_table('work_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_orders_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_work_orders_status'))
        batch_op.drop_index(batch_op.f('ix_work_orders_site_id'))
        batch_op.drop_index(batch_op.f('ix_work_orders_incident_id'))
        batch_op.drop_index(batch_op.f('ix_work_orders_charge_point_id'))

    op.drop_table('work_orders')
    with op.batch_alter_table('maintenance_windows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_maintenance_windows_site_id'))
        batch_op.drop_index(batch_op.f('ix_maintenance_windows_charge_point_id'))

    op.drop_table('maintenance_windows')
