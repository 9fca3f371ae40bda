"""issue 21: firmware files, rollouts in waves with each charger's progress, diagnostics requests and their upload

Revision ID: 0021
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa
import portal.db


revision = '0021'
down_revision = '0016'  # after the help-and-sales loose ends
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('firmware_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('vendor', sa.String(length=50), nullable=False),
    sa.Column('model', sa.String(length=50), nullable=False),
    sa.Column('version', sa.String(length=50), nullable=False),
    sa.Column('filename', sa.String(length=120), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('stored_name', sa.String(length=80), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_firmware_files_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_firmware_files')),
    sa.UniqueConstraint('vendor', 'model', 'version', name=op.f('uq_firmware_files_vendor'))
    )
    op.create_table('firmware_rollouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firmware_file_id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=True),
    sa.Column('charge_point_id', sa.Integer(), nullable=True),
    sa.Column('wave_size', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('stopped_reason', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("scope IN ('charger','site','model')", name=op.f('ck_firmware_rollouts_scope')),
    sa.CheckConstraint("state IN ('running','stopped','done','cancelled')", name=op.f('ck_firmware_rollouts_state')),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_firmware_rollouts_charge_point_id_charge_points'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_firmware_rollouts_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['firmware_file_id'], ['firmware_files.id'], name=op.f('fk_firmware_rollouts_firmware_file_id_firmware_files'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_firmware_rollouts_site_id_sites'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_firmware_rollouts'))
    )
    with op.batch_alter_table('firmware_rollouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_firmware_rollouts_firmware_file_id'), ['firmware_file_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_firmware_rollouts_state'), ['state'], unique=False)

    op.create_table('diagnostics_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('charge_point_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('action_request_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('last_status', sa.String(length=24), nullable=False),
    sa.Column('last_status_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('filename', sa.String(length=120), nullable=False),
    sa.Column('stored_name', sa.String(length=80), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('requested','uploading','uploaded','failed','expired')", name=op.f('ck_diagnostics_requests_state')),
    sa.ForeignKeyConstraint(['action_request_id'], ['action_requests.id'], name=op.f('fk_diagnostics_requests_action_request_id_action_requests'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_diagnostics_requests_charge_point_id_charge_points'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_diagnostics_requests_requested_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['support_tickets.id'], name=op.f('fk_diagnostics_requests_ticket_id_support_tickets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_diagnostics_requests'))
    )
    with op.batch_alter_table('diagnostics_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_diagnostics_requests_charge_point_id'), ['charge_point_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_diagnostics_requests_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('firmware_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rollout_id', sa.Integer(), nullable=False),
    sa.Column('charge_point_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=14), nullable=False),
    sa.Column('old_version', sa.String(length=50), nullable=False),
    sa.Column('reported_version', sa.String(length=50), nullable=False),
    sa.Column('last_status', sa.String(length=24), nullable=False),
    sa.Column('last_status_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('action_request_id', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('waiting_for', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('started_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('pending','waiting','sent','downloading','downloaded','installing','installed','done','failed','cancelled')", name=op.f('ck_firmware_updates_state')),
    sa.ForeignKeyConstraint(['action_request_id'], ['action_requests.id'], name=op.f('fk_firmware_updates_action_request_id_action_requests'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_firmware_updates_charge_point_id_charge_points'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rollout_id'], ['firmware_rollouts.id'], name=op.f('fk_firmware_updates_rollout_id_firmware_rollouts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_firmware_updates')),
    sa.UniqueConstraint('rollout_id', 'charge_point_id', name=op.f('uq_firmware_updates_rollout_id'))
    )
    with op.batch_alter_table('firmware_updates', schema=None) as batch_op:
        batch_op.create_index('ix_firmware_updates_cp_state', ['charge_point_id', 'state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('firmware_updates', schema=None) as batch_op:
        batch_op.drop_index('ix_firmware_updates_cp_state')

    op.drop_table('firmware_updates')
    with op.batch_alter_table('diagnostics_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_diagnostics_requests_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_diagnostics_requests_charge_point_id'))

    op.drop_table('diagnostics_requests')
    with op.batch_alter_table('firmware_rollouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_firmware_rollouts_state'))
        batch_op.drop_index(batch_op.f('ix_firmware_rollouts_firmware_file_id'))

    op.drop_table('firmware_rollouts')
    op.drop_table('firmware_files')
