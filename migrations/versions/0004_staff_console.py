"""staff console: support closures of stuck sessions, reasons on staff requests, staff audit area

Revision ID: 0004
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
import portal.db


revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("close_note", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("close_billed", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("flag_reviewed_at", portal.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_transactions_closed_by_id_users"), "users",
                                    ["closed_by_id"], ["id"], ondelete="SET NULL")
    with op.batch_alter_table("orphan_stops", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reviewed_at", portal.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("action_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("pending_secret_hash", sa.String(length=255), nullable=True))
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("area", sa.String(length=8), server_default="site", nullable=False))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_entries_area"), ["area"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entries_area"))
        batch_op.drop_column("reason")
        batch_op.drop_column("area")
    with op.batch_alter_table("action_requests", schema=None) as batch_op:
        batch_op.drop_column("pending_secret_hash")
        batch_op.drop_column("reason")
    with op.batch_alter_table("orphan_stops", schema=None) as batch_op:
        batch_op.drop_column("reviewed_at")
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_transactions_closed_by_id_users"), type_="foreignkey")
        batch_op.drop_column("flag_reviewed_at")
        batch_op.drop_column("close_billed")
        batch_op.drop_column("close_note")
        batch_op.drop_column("closed_by_id")
