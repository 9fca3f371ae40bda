"""issue 19: helpdesk basics: saved replies, the response clock (awaiting_since), the assignee's marker
for a customer answer, and merged duplicates

Revision ID: 0014
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa
import portal.db


revision = '0014'
down_revision = '0017'  # after the incident parts
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('saved_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', portal.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("language IN ('nb','sv','en')", name=op.f('ck_saved_replies_language')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_saved_replies_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_replies')),
    sa.UniqueConstraint('language', 'title', name=op.f('uq_saved_replies_language'))
    )
    with op.batch_alter_table('support_tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('awaiting_since', portal.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('customer_replied_at', portal.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_support_tickets_awaiting_since'), ['awaiting_since'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_support_tickets_merged_into_id_support_tickets'), 'support_tickets', ['merged_into_id'], ['id'], ondelete='SET NULL')
    # Tickets nobody has answered yet wait since they were opened; answered ones start the clock on their
    # next customer message.
    op.execute("UPDATE support_tickets SET awaiting_since = created_at "
               "WHERE first_response_at IS NULL AND status IN ('new', 'open')")



def downgrade() -> None:
    with op.batch_alter_table('support_tickets', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_support_tickets_merged_into_id_support_tickets'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_support_tickets_awaiting_since'))
        batch_op.drop_column('merged_into_id')
        batch_op.drop_column('customer_replied_at')
        batch_op.drop_column('awaiting_since')

    op.drop_table('saved_replies')
