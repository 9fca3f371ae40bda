"""issue 22 step one: the site's power and circuits, each charger's connection, capabilities and floor profile

Revision ID: 0023
Revises: 0021
"""
from alembic import op
import sqlalchemy as sa
import portal.db


revision = '0023'
down_revision = '0024'  # after the payouts
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('power_circuits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('max_current_a', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['parent_id'], ['power_circuits.id'], name=op.f('fk_power_circuits_parent_id_power_circuits'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_power_circuits_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_power_circuits'))
    )
    with op.batch_alter_table('power_circuits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_power_circuits_site_id'), ['site_id'], unique=False)

    op.create_table('site_power',
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('max_current_a', sa.Integer(), nullable=False),
    sa.Column('phases', sa.Integer(), nullable=False),
    sa.Column('voltage', sa.Integer(), nullable=False),
    sa.Column('updated_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_site_power_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', name=op.f('pk_site_power'))
    )
    op.create_table('charger_power',
    sa.Column('charge_point_id', sa.Integer(), nullable=False),
    sa.Column('phases', sa.Integer(), nullable=False),
    sa.Column('lines', sa.String(length=8), nullable=False),
    sa.Column('max_current_a', sa.Integer(), nullable=False),
    sa.Column('circuit_id', sa.Integer(), nullable=True),
    sa.Column('tolerates_pause', sa.Boolean(), nullable=False),
    sa.Column('smart', sa.Boolean(), nullable=True),
    sa.Column('max_stack_level', sa.Integer(), nullable=True),
    sa.Column('rate_units', sa.String(length=20), nullable=False),
    sa.Column('max_profiles', sa.Integer(), nullable=True),
    sa.Column('capabilities_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('floor_a', sa.Integer(), nullable=True),
    sa.Column('profile_limit', sa.Float(), nullable=True),
    sa.Column('profile_unit', sa.String(length=1), nullable=False),
    sa.Column('profile_status', sa.String(length=16), nullable=False),
    sa.Column('profile_detail', sa.String(length=200), nullable=False),
    sa.Column('profile_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_charger_power_charge_point_id_charge_points'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['circuit_id'], ['power_circuits.id'], name=op.f('fk_charger_power_circuit_id_power_circuits'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('charge_point_id', name=op.f('pk_charger_power'))
    )


def downgrade() -> None:
    op.drop_table('charger_power')
    op.drop_table('site_power')
    with op.batch_alter_table('power_circuits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_power_circuits_site_id'))

    op.drop_table('power_circuits')
