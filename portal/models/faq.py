"""FAQ articles: a stable slug and category, one translation per language, helpful votes.

Full-text search lives in the database next to ``faq_translations`` and is kept in step by the
database itself (see migration 0002 and portal/services/helpdesk/faq_search.py): an FTS5 table with
triggers on SQLite, a generated ``search_vector`` tsvector column on PostgreSQL.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, UTCDateTime, utcnow
from portal.models.support import _in

FAQ_CATEGORIES = ("charging", "prices", "site_admin", "ordering", "support", "account")


class FaqArticle(Base):
    __tablename__ = "faq_articles"
    __table_args__ = (CheckConstraint(_in("category", FAQ_CATEGORIES), name="category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    category: Mapped[str] = mapped_column(String(20), default="charging")
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=100)
    helpful_yes: Mapped[int] = mapped_column(Integer, default=0)
    helpful_no: Mapped[int] = mapped_column(Integer, default=0)
    # page views of the article: "no results" suggests the most read ones
    read_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    translations: Mapped[list["FaqTranslation"]] = relationship(
        back_populates="article", cascade="all, delete-orphan", order_by="FaqTranslation.language")

    def translation(self, language: str) -> "FaqTranslation | None":
        return next((t for t in self.translations if t.language == language), None)


class FaqTranslation(Base):
    __tablename__ = "faq_translations"
    __table_args__ = (
        UniqueConstraint("article_id", "language"),
        CheckConstraint("language IN ('nb','sv','en')", name="language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("faq_articles.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(2))
    title: Mapped[str] = mapped_column(String(200))
    body_md: Mapped[str] = mapped_column(Text)
    # The body as plain words (Markdown rendered, tags and link targets dropped): what search indexes.
    plain_text: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    article: Mapped[FaqArticle] = relationship(back_populates="translations")


class FaqVote(Base):
    """One "was this helpful?" answer per visitor and article (voter_key: hashed cookie id or user id)."""

    __tablename__ = "faq_votes"
    __table_args__ = (UniqueConstraint("article_id", "voter_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("faq_articles.id", ondelete="CASCADE"), index=True)
    voter_key: Mapped[str] = mapped_column(String(64))
    helpful: Mapped[bool] = mapped_column(Boolean)
    # after "not helpful": what the reader missed (optional, short), read by support on the feedback page
    missing: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
