"""the charger is asked first: what the resident is told about a closure, energy reported after a hand close

Revision ID: 0007
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa
import portal.db


revision = "0007"
down_revision = "0003"  # 0003 is chained after 0006
branch_labels = None
depends_on = None

COLUMNS = ("after_close_reviewed_at", "after_close_stopped_at", "after_close_last_at", "after_close_first_at",
           "after_close_wh", "resident_reason")


def upgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resident_reason", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("after_close_wh", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("after_close_first_at", portal.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("after_close_last_at", portal.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("after_close_stopped_at", portal.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("after_close_reviewed_at", portal.db.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.drop_column(name)
