"""issue 23: private links expire when unused (last use kept beside the token's hash)

Tokens were stored only as SHA-256 hashes from the start (0002), so none needs hashing here. Links
that exist now count as used at the migration, so they work for LINK_IDLE_DAYS from then on.

Revision ID: 0011
Revises: 0003
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa
import portal.db


revision = "0011"
down_revision = "0009"  # after the statement ledger
branch_labels = None
depends_on = None

TABLES = ("support_tickets", "charger_orders")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("access_token_used_at", portal.db.UTCDateTime(), nullable=True))
        rows = sa.table(table, sa.column("access_token_hash", sa.String()),
                        sa.column("access_token_used_at", portal.db.UTCDateTime()))
        op.execute(rows.update().where(rows.c.access_token_hash.is_not(None))
                   .values(access_token_used_at=datetime.now(timezone.utc)))


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("access_token_used_at")
