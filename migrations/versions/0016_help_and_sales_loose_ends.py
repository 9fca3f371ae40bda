"""issue 19: re-sendable private links, order price and contents per site, "what was missing" on FAQ
votes, FAQ read counts, and FAQ search by parts of words and with one typo

The fuzzy FAQ search sits beside the full-text search of 0002 and, like it, is kept by the database:
SQLite: an FTS5 table with the trigram tokenizer over faq_translations, with triggers.
PostgreSQL: the pg_trgm extension (CREATE EXTENSION needs a superuser or a trusted-extension
grant, see README) and a trigram GIN index over the lower-cased title and text.

Revision ID: 0016
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa


revision = "0016"
down_revision = '0020'  # after the fleet configuration
branch_labels = None
depends_on = None

SQLITE_TRIGRAM = (
    "CREATE VIRTUAL TABLE faq_trigram USING fts5(title, plain_text, content='faq_translations', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER faq_trigram_ai AFTER INSERT ON faq_translations BEGIN "
    "INSERT INTO faq_trigram(rowid, title, plain_text) VALUES (new.id, new.title, new.plain_text); END",
    "CREATE TRIGGER faq_trigram_ad AFTER DELETE ON faq_translations BEGIN "
    "INSERT INTO faq_trigram(faq_trigram, rowid, title, plain_text) "
    "VALUES ('delete', old.id, old.title, old.plain_text); END",
    "CREATE TRIGGER faq_trigram_au AFTER UPDATE ON faq_translations BEGIN "
    "INSERT INTO faq_trigram(faq_trigram, rowid, title, plain_text) "
    "VALUES ('delete', old.id, old.title, old.plain_text); "
    "INSERT INTO faq_trigram(rowid, title, plain_text) VALUES (new.id, new.title, new.plain_text); END",
    "INSERT INTO faq_trigram(faq_trigram) VALUES ('rebuild')",
)
PG_TRIGRAM = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_faq_translations_trigram ON faq_translations "
    "USING gin ((lower(title || ' ' || plain_text)) gin_trgm_ops)",
)


def upgrade() -> None:
    for table in ("support_tickets", "charger_orders"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("access_token_seed", sa.String(length=32), nullable=True))
    with op.batch_alter_table("sites") as batch:
        batch.add_column(sa.Column("order_price", sa.String(length=120), nullable=False, server_default=""))
        batch.add_column(sa.Column("order_included", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("faq_votes") as batch:
        batch.add_column(sa.Column("missing", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("faq_articles") as batch:
        batch.add_column(sa.Column("read_count", sa.Integer(), nullable=False, server_default="0"))
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGRAM if dialect == "sqlite" else PG_TRIGRAM if dialect == "postgresql" else ():
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in ("faq_trigram_ai", "faq_trigram_ad", "faq_trigram_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS faq_trigram")
    elif dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_faq_translations_trigram")  # the extension may serve others
    with op.batch_alter_table("faq_articles") as batch:
        batch.drop_column("read_count")
    with op.batch_alter_table("faq_votes") as batch:
        batch.drop_column("missing")
    with op.batch_alter_table("sites") as batch:
        batch.drop_column("order_included")
        batch.drop_column("order_price")
    for table in ("support_tickets", "charger_orders"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("access_token_seed")
