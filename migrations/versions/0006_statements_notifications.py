"""issue 13: monthly statements, notification e-mails and their opt-outs, plan repricing,
tariffs restricted to user groups

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import portal.db


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("operator_name", sa.String(length=160), nullable=False),
        sa.Column("operator_org_number", sa.String(length=20), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("emailed_at", portal.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("month BETWEEN 1 AND 12", name=op.f("ck_statements_month")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_statements_site_id_sites"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_statements_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
        sa.UniqueConstraint("number", name=op.f("uq_statements_number")),
        sa.UniqueConstraint("site_id", "user_id", "year", "month", name="uq_statements_site_user_month"),
    )
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_statements_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_statements_user_id"), ["user_id"], unique=False)

    op.create_table(
        "statement_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("starts_at", portal.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", portal.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("energy_wh", sa.BigInteger(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=10, scale=4), nullable=True),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("days_in_month", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("vat_minor", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("kind IN ('session','subscription')", name=op.f("ck_statement_lines_kind")),
        sa.ForeignKeyConstraint(["statement_id"], ["statements.id"],
                                name=op.f("fk_statement_lines_statement_id_statements"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["transaction_id"], ["transactions.id"],
                                name=op.f("fk_statement_lines_transaction_id_transactions"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["plan_id"], ["subscription_plans.id"],
                                name=op.f("fk_statement_lines_plan_id_subscription_plans"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_lines")),
    )
    with op.batch_alter_table("statement_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_statement_lines_statement_id"), ["statement_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_statement_lines_transaction_id"), ["transaction_id"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("ref_id", sa.BigInteger(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("created_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("kind", "ref_id", name="uq_notifications_kind_ref"),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("users", schema=None) as batch_op:
        for column in ("notify_session_done", "notify_session_stopped", "notify_start_failed", "notify_statement"):
            batch_op.add_column(sa.Column(column, sa.Boolean(), nullable=False, server_default=sa.true()))

    op.create_table(
        "tariff_user_groups",
        sa.Column("tariff_id", sa.Integer(), nullable=False),
        sa.Column("user_group_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tariff_id"], ["tariffs.id"], name=op.f("fk_tariff_user_groups_tariff_id_tariffs"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_group_id"], ["user_groups.id"],
                                name=op.f("fk_tariff_user_groups_user_group_id_user_groups"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("tariff_id", "user_group_id", name=op.f("pk_tariff_user_groups")),
    )
    with op.batch_alter_table("subscription_plans", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_fee_minor", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("next_fee_from", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscription_plans", schema=None) as batch_op:
        batch_op.drop_column("next_fee_from")
        batch_op.drop_column("next_fee_minor")
    op.drop_table("tariff_user_groups")
    with op.batch_alter_table("users", schema=None) as batch_op:
        for column in ("notify_statement", "notify_start_failed", "notify_session_stopped", "notify_session_done"):
            batch_op.drop_column(column)
    op.drop_table("notifications")
    op.drop_table("statement_lines")
    op.drop_table("statements")
