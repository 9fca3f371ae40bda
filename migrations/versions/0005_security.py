"""security: server-side log-in sessions, verified e-mail addresses, invite expiry

Revision ID: 0005
Revises: 0004
"""
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

import portal.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("remember", sa.Boolean(), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.Column("ip_address", sa.String(length=45), nullable=False),
        sa.Column("created_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", portal.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_login_sessions_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_login_sessions_token_hash")),
    )
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_sessions_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_verified_at", portal.db.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", portal.db.UTCDateTime(timezone=True), nullable=True))
    # Accounts from before confirmation existed were accepted under the old rules: they count as confirmed,
    # so nobody is locked out by the upgrade (SECURITY.md says so).
    users = sa.table("users", sa.column("email_verified_at", portal.db.UTCDateTime(timezone=True)),
                     sa.column("created_at", portal.db.UTCDateTime(timezone=True)))
    op.execute(users.update().where(users.c.email_verified_at.is_(None)).values(email_verified_at=users.c.created_at))
    # Invites sent before expiry existed get the default 30 days from now.
    invites = sa.table("invites", sa.column("expires_at", portal.db.UTCDateTime(timezone=True)))
    op.execute(invites.update().where(invites.c.expires_at.is_(None))
               .values(expires_at=datetime.now(timezone.utc) + timedelta(days=30)))


def downgrade() -> None:
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email_verified_at")
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_sessions_user_id"))
    op.drop_table("login_sessions")
