"""charger data integrity: structured meter flags, billing decision, sample dedup, diagnostics, one pending action

Revision ID: 0003
Revises: 0001
"""
import json

import sqlalchemy as sa
from alembic import op

import portal.db

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

ONE_PENDING = "state IN ('queued','sent') AND action IN ('RemoteStartTransaction','RemoteStopTransaction')"


def upgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.add_column(sa.Column("meter_last_at", portal.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("meter_flags", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("access_decision", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("billable", sa.Boolean(), nullable=False, server_default=sa.true()))
    _move_text_flags()
    with op.batch_alter_table("transactions") as batch:
        batch.drop_column("meter_flag")
    with op.batch_alter_table("meter_values") as batch:
        batch.add_column(sa.Column("sample_key", sa.String(length=64), nullable=True))
        batch.create_unique_constraint(batch.f("uq_meter_values_sample_key"), ["sample_key"])
    with op.batch_alter_table("charge_points") as batch:
        batch.add_column(sa.Column("booted_at", portal.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("skipped_samples", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("clock_corrections", sa.Integer(), nullable=False, server_default="0"))
    _close_duplicate_pending()
    op.create_index("uq_action_requests_one_pending", "action_requests",
                    ["charge_point_id", "connector_id", "action"], unique=True,
                    sqlite_where=sa.text(ONE_PENDING), postgresql_where=sa.text(ONE_PENDING))


def _move_text_flags() -> None:
    """The old free-text meter_flag becomes one structured note; 'refused at start: X' becomes columns."""
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, meter_flag FROM transactions WHERE meter_flag IS NOT NULL")).all()
    for tx_id, text in rows:
        decision, billable, flags = None, True, [{"code": "legacy_note", "text": text}]
        if text.startswith("refused at start"):
            decision, billable = text.split(":", 1)[-1].split(";")[0].strip() or "no_access", False
        conn.execute(sa.text("UPDATE transactions SET meter_flags = :f, access_decision = :d, billable = :b "
                             "WHERE id = :id"),
                     {"f": json.dumps(flags), "d": decision, "b": billable, "id": tx_id})


def _close_duplicate_pending() -> None:
    """Before the unique index: of several pending starts/stops for one connector, keep the newest."""
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        f"SELECT id, charge_point_id, connector_id, action FROM action_requests WHERE {ONE_PENDING} "
        "ORDER BY id DESC")).all()
    seen = set()
    for row_id, cp_id, connector_id, action in rows:
        if (cp_id, connector_id, action) in seen:
            conn.execute(sa.text("UPDATE action_requests SET state = 'timed_out', "
                                 "error = 'closed by migration 0003: a newer request for this connector' "
                                 "WHERE id = :id"), {"id": row_id})
        seen.add((cp_id, connector_id, action))


def downgrade() -> None:
    op.drop_index("uq_action_requests_one_pending", table_name="action_requests")
    with op.batch_alter_table("charge_points") as batch:
        batch.drop_column("clock_corrections")
        batch.drop_column("skipped_samples")
        batch.drop_column("booted_at")
    with op.batch_alter_table("meter_values") as batch:
        batch.drop_constraint(batch.f("uq_meter_values_sample_key"), type_="unique")
        batch.drop_column("sample_key")
    with op.batch_alter_table("transactions") as batch:
        batch.add_column(sa.Column("meter_flag", sa.String(length=120), nullable=True))
        batch.drop_column("billable")
        batch.drop_column("access_decision")
        batch.drop_column("meter_flags")
        batch.drop_column("meter_last_at")
