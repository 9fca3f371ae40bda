"""one start per tap: a remote start or stop holds its connector past 'accepted' (issue 18)

The unique partial index on pending starts/stops (uq_action_requests_one_pending, states queued/sent)
becomes one on the new flag holds_connector (uq_action_requests_one_holding), which stays set while an
accepted start waits for its StartTransaction and while its session runs, and while an accepted stop
waits for its StopTransaction. Rows pending now take the flag (the old index kept them one per connector).

Revision ID: 0008
Revises: 0003 (the head when written; the brief names 0006, which would leave two heads; the integrator
re-chains after 0007)
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

STARTS_AND_STOPS = "action IN ('RemoteStartTransaction','RemoteStopTransaction')"
ONE_PENDING = f"state IN ('queued','sent') AND {STARTS_AND_STOPS}"
ONE_HOLDING = f"holds_connector AND {STARTS_AND_STOPS}"


def upgrade() -> None:
    with op.batch_alter_table("action_requests") as batch:
        batch.add_column(sa.Column("holds_connector", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute(sa.text(f"UPDATE action_requests SET holds_connector = true WHERE {ONE_PENDING}"))
    op.drop_index("uq_action_requests_one_pending", table_name="action_requests")
    op.create_index("uq_action_requests_one_holding", "action_requests",
                    ["charge_point_id", "connector_id", "action"], unique=True,
                    sqlite_where=sa.text(ONE_HOLDING), postgresql_where=sa.text(ONE_HOLDING))


def downgrade() -> None:
    op.drop_index("uq_action_requests_one_holding", table_name="action_requests")
    _close_duplicate_pending()
    op.create_index("uq_action_requests_one_pending", "action_requests",
                    ["charge_point_id", "connector_id", "action"], unique=True,
                    sqlite_where=sa.text(ONE_PENDING), postgresql_where=sa.text(ONE_PENDING))
    with op.batch_alter_table("action_requests") as batch:
        batch.drop_column("holds_connector")


def _close_duplicate_pending() -> None:
    """A staff start/stop sent without holding (another request held the connector) may be pending beside
    one that holds: before the old index, of several pending per connector keep the newest."""
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        f"SELECT id, charge_point_id, connector_id, action FROM action_requests WHERE {ONE_PENDING} "
        "ORDER BY id DESC")).all()
    seen = set()
    for row_id, cp_id, connector_id, action in rows:
        if (cp_id, connector_id, action) in seen:
            conn.execute(sa.text("UPDATE action_requests SET state = 'timed_out', "
                                 "error = 'closed by downgrading migration 0008: a newer request for this connector' "
                                 "WHERE id = :id"), {"id": row_id})
        seen.add((cp_id, connector_id, action))
