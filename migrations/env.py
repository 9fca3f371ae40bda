"""Alembic environment: the database URL comes from the caller or DATABASE_URL, never from alembic.ini."""
from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from portal import settings
from portal.db import make_engine
from portal.models import Base

config = context.config
if config.config_file_name and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name)

target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("database_url") or settings.get("database_url")
    engine = make_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave out the FAQ search index the database keeps itself (FTS5 tables, tsvector column and index)."""
    if type_ == "table" and name and name.startswith(("faq_fts", "faq_trigram")):
        return False
    if name in ("search_vector", "ix_faq_translations_search_vector", "ix_faq_translations_trigram"):
        return False
    return True


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
