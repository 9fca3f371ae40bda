"""issue 19: a page per person (support finds people by a folded name), and what a resident reads about a staff
decision is a code shown in their language

users.search_name holds the name folded by portal.textnorm (filled here for existing accounts). A tag blocked by
support keeps why (id_tags.blocked_reason), and a credit note keeps what the resident is told
(statements.resident_reason) beside the staff's own reason, which stays internal.

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa

from portal.textnorm import fold


revision = "0013"
down_revision = '0014'  # after the helpdesk basics
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("search_name", sa.String(length=120), server_default="", nullable=False))
    users = sa.table("users", sa.column("id", sa.Integer()), sa.column("name", sa.String()),
                     sa.column("search_name", sa.String()))
    conn = op.get_bind()
    for user_id, name in conn.execute(sa.select(users.c.id, users.c.name).where(users.c.name != "")).all():
        conn.execute(users.update().where(users.c.id == user_id).values(search_name=fold(name)[:120]))
    with op.batch_alter_table("id_tags") as batch:
        batch.add_column(sa.Column("blocked_reason", sa.String(length=24), nullable=True))
    with op.batch_alter_table("statements") as batch:
        batch.add_column(sa.Column("resident_reason", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("statements") as batch:
        batch.drop_column("resident_reason")
    with op.batch_alter_table("id_tags") as batch:
        batch.drop_column("blocked_reason")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("search_name")
