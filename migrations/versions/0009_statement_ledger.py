"""issue 18 part 3: the billing ledger. Supplementary statements and credit notes, one running
number sequence per operator, every session billed once, documents kept when a user or site goes.

Existing statements become kind 'statement', keep their numbers (no sequence position) and get the
snapshot of the site and the billed person; every month that has statements counts as run.

Revision ID: 0009
Revises: 0003 (main's head, applied after 0006)
"""
from alembic import op
import sqlalchemy as sa
import portal.db


revision = "0009"
down_revision = "0008"  # after the one-start-per-tap hold
branch_labels = None
depends_on = None

REGULAR = "kind = 'statement'"
BILLED_ONCE = "transaction_id IS NOT NULL AND credits_line_id IS NULL AND rebills_line_id IS NULL"


def upgrade() -> None:
    op.create_table(
        "document_sequences",
        sa.Column("operator", sa.String(length=20), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("operator", name=op.f("pk_document_sequences")),
    )
    op.create_table(
        "statement_runs",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("ran_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("month BETWEEN 1 AND 12", name=op.f("ck_statement_runs_month")),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_statement_runs_site_id_sites"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("site_id", "year", "month", name=op.f("pk_statement_runs")),
    )
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="statement"))
        batch_op.add_column(sa.Column("sequence_no", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("corrects_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("site_name", sa.String(length=160), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("billed_name", sa.String(length=160), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("billed_email", sa.String(length=254), nullable=False, server_default=""))
        batch_op.alter_column("site_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=True)
        batch_op.drop_constraint("uq_statements_site_user_month", type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_statements_site_id_sites"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_statements_user_id_users"), type_="foreignkey")
        batch_op.create_foreign_key(batch_op.f("fk_statements_site_id_sites"), "sites", ["site_id"], ["id"],
                                    ondelete="SET NULL")
        batch_op.create_foreign_key(batch_op.f("fk_statements_user_id_users"), "users", ["user_id"], ["id"],
                                    ondelete="SET NULL")
        batch_op.create_foreign_key(batch_op.f("fk_statements_corrects_id_statements"), "statements",
                                    ["corrects_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_statements_corrects_id"), ["corrects_id"], unique=False)
        batch_op.create_unique_constraint("uq_statements_operator_sequence", ["operator_org_number", "sequence_no"])
        batch_op.create_check_constraint(op.f("ck_statements_kind"), "kind IN ('statement','supplementary','credit_note')")
        batch_op.create_check_constraint(op.f("ck_statements_credit_note_corrects"), "(kind = 'credit_note') = (corrects_id IS NOT NULL)")
    op.create_index("uq_statements_regular", "statements", ["site_id", "user_id", "year", "month"], unique=True,
                    sqlite_where=sa.text(REGULAR), postgresql_where=sa.text(REGULAR))
    op.execute("UPDATE statements SET site_name = COALESCE((SELECT name FROM sites WHERE sites.id = statements.site_id), ''),"
               " billed_email = COALESCE((SELECT email FROM users WHERE users.id = statements.user_id), ''),"
               " billed_name = COALESCE((SELECT CASE WHEN name <> '' THEN name ELSE email END FROM users"
               " WHERE users.id = statements.user_id), '')")
    op.execute("INSERT INTO statement_runs (site_id, year, month, ran_at) SELECT site_id, year, month, MIN(created_at)"
               " FROM statements GROUP BY site_id, year, month")

    with op.batch_alter_table("statement_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credits_line_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rebills_line_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_statement_lines_credits_line_id_statement_lines"),
                                    "statement_lines", ["credits_line_id"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_statement_lines_rebills_line_id_statement_lines"),
                                    "statement_lines", ["rebills_line_id"], ["id"])
        batch_op.create_unique_constraint(batch_op.f("uq_statement_lines_credits_line_id"), ["credits_line_id"])
        batch_op.create_unique_constraint(batch_op.f("uq_statement_lines_rebills_line_id"), ["rebills_line_id"])
    op.create_index("uq_statement_lines_billed_once", "statement_lines", ["transaction_id"], unique=True,
                    sqlite_where=sa.text(BILLED_ONCE), postgresql_where=sa.text(BILLED_ONCE))


def downgrade() -> None:
    op.drop_index("uq_statement_lines_billed_once", table_name="statement_lines")
    with op.batch_alter_table("statement_lines", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_statement_lines_rebills_line_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_statement_lines_credits_line_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_statement_lines_rebills_line_id_statement_lines"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_statement_lines_credits_line_id_statement_lines"), type_="foreignkey")
        batch_op.drop_column("rebills_line_id")
        batch_op.drop_column("credits_line_id")
    # Credit notes, supplements and documents of removed users or sites have no place in the old schema.
    op.execute("DELETE FROM statement_lines WHERE statement_id IN (SELECT id FROM statements WHERE kind <> 'statement'"
               " OR user_id IS NULL OR site_id IS NULL)")
    op.execute("DELETE FROM statements WHERE kind <> 'statement' OR user_id IS NULL OR site_id IS NULL")
    op.drop_index("uq_statements_regular", table_name="statements")
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_statements_credit_note_corrects"), type_="check")
        batch_op.drop_constraint(op.f("ck_statements_kind"), type_="check")
        batch_op.drop_constraint("uq_statements_operator_sequence", type_="unique")
        batch_op.drop_index(batch_op.f("ix_statements_corrects_id"))
        batch_op.drop_constraint(batch_op.f("fk_statements_corrects_id_statements"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_statements_user_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_statements_site_id_sites"), type_="foreignkey")
        batch_op.create_foreign_key(batch_op.f("fk_statements_site_id_sites"), "sites", ["site_id"], ["id"],
                                    ondelete="CASCADE")
        batch_op.create_foreign_key(batch_op.f("fk_statements_user_id_users"), "users", ["user_id"], ["id"],
                                    ondelete="CASCADE")
        batch_op.create_unique_constraint("uq_statements_site_user_month", ["site_id", "user_id", "year", "month"])
        batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("site_id", existing_type=sa.Integer(), nullable=False)
        for column in ("billed_email", "billed_name", "site_name", "reason", "corrects_id", "sequence_no", "kind"):
            batch_op.drop_column(column)
    op.drop_table("statement_runs")
    op.drop_table("document_sequences")
