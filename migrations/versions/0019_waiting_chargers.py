"""issue 21: the waiting list of chargers that tried to connect unregistered or with a wrong secret
(one row per identity, capped)

Revision ID: 0019
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa
import portal.db


revision = '0019'
down_revision = '0018'  # after the work orders
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('waiting_chargers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('identity', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('charge_point_id', sa.Integer(), nullable=True),
    sa.Column('remote_address', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.Column('subprotocols', sa.String(length=100), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('first_seen_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', portal.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("reason IN ('unknown_identity','wrong_password','no_password')", name=op.f('ck_waiting_chargers_reason')),
    sa.ForeignKeyConstraint(['charge_point_id'], ['charge_points.id'], name=op.f('fk_waiting_chargers_charge_point_id_charge_points'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['claimed_by_id'], ['users.id'], name=op.f('fk_waiting_chargers_claimed_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waiting_chargers')),
    sa.UniqueConstraint('identity', name=op.f('uq_waiting_chargers_identity'))
    )
    with op.batch_alter_table('waiting_chargers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waiting_chargers_last_seen_at'), ['last_seen_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('waiting_chargers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_waiting_chargers_last_seen_at'))

    op.drop_table('waiting_chargers')
