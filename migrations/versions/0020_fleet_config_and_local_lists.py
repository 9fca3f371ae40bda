"""issue 21: configuration templates per charger model, each charger's answers per key (with drift),
and the local authorisation list last sent to each charger

Revision ID: 0020
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa
import portal.db


revision = '0020'
down_revision = '0013'  # after the person page
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('config_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('vendor', sa.String(length=50), nullable=False),
    sa.Column('model', sa.String(length=50), nullable=False),
    sa.Column('entries', sa.JSON(), nullable=False),
    sa.Column('updated_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_config_templates')),
    sa.UniqueConstraint('vendor', 'model', name='vendor_model')
    )
    op.create_table('charger_config_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('charge_point_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=50), nullable=False),
    sa.Column('wanted', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.Column('answered_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('drift_value', sa.String(length=500), nullable=True),
    sa.Column('drift_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_charger_config_keys_charge_point_id_charge_points'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charger_config_keys')),
    sa.UniqueConstraint('charge_point_id', 'key', name='charger_key')
    )
    with op.batch_alter_table('charger_config_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_charger_config_keys_charge_point_id'), ['charge_point_id'], unique=False)

    op.create_table('local_list_states',
    sa.Column('charge_point_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('last_kind', sa.String(length=12), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.Column('max_length', sa.Integer(), nullable=True),
    sa.Column('send_max', sa.Integer(), nullable=True),
    sa.Column('left_out', sa.Integer(), nullable=False),
    sa.Column('sent_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('checked_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_local_list_states_charge_point_id_charge_points'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('charge_point_id', name=op.f('pk_local_list_states'))
    )


def downgrade() -> None:
    op.drop_table('local_list_states')
    with op.batch_alter_table('charger_config_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_charger_config_keys_charge_point_id'))

    op.drop_table('charger_config_keys')
    op.drop_table('config_templates')
