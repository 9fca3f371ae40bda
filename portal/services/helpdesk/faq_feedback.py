"""What readers tell about FAQ articles: how often each is read, and after "not helpful" what was missing.

Flask-free; functions flush, the caller commits. The "most read" articles are what "no results"
suggests; support reads the missing-answers per article on the staff feedback page.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from portal.models import FaqArticle, FaqVote
from portal.services.helpdesk.faq import voter_key

MISSING_MAX = 500


def record_read(session: Session, article: FaqArticle) -> None:
    """Count one page view (one UPDATE in the database, so two readers at once both count). A view is
    not an edit: ``updated_at`` stays."""
    session.execute(update(FaqArticle).where(FaqArticle.id == article.id)
                    .values(read_count=FaqArticle.read_count + 1, updated_at=FaqArticle.updated_at)
                    .execution_options(synchronize_session=False))


def most_read(session: Session, limit: int = 5) -> list[FaqArticle]:
    """Published articles, most read first."""
    return list(session.scalars(
        select(FaqArticle).where(FaqArticle.published.is_(True)).options(selectinload(FaqArticle.translations))
        .order_by(FaqArticle.read_count.desc(), FaqArticle.position, FaqArticle.slug).limit(limit)))


def not_helpful_vote(session: Session, article: FaqArticle, visitor_id: str) -> FaqVote | None:
    """This visitor's "not helpful" answer on the article, if that is what they answered."""
    return session.scalar(select(FaqVote).where(FaqVote.article_id == article.id,
                                                FaqVote.voter_key == voter_key(visitor_id),
                                                FaqVote.helpful.is_(False)))


def save_missing(session: Session, article: FaqArticle, visitor_id: str, text: str) -> bool:
    """Keep what the reader missed on their "not helpful" answer; False if they gave no such answer.
    A second text replaces the first (one per reader and article)."""
    vote = not_helpful_vote(session, article, visitor_id)
    if vote is None:
        return False
    vote.missing = " ".join((text or "").split())[:MISSING_MAX]
    session.flush()
    return True


@dataclass
class ArticleFeedback:
    article: FaqArticle
    missing: list[FaqVote] = field(default_factory=list)


def feedback(session: Session, per_article: int = 50) -> list[ArticleFeedback]:
    """Every article with a "not helpful" answer, most such answers first, each with the texts of what
    was missing (newest first)."""
    articles = session.scalars(select(FaqArticle).where(FaqArticle.helpful_no > 0)
                               .options(selectinload(FaqArticle.translations))
                               .order_by(FaqArticle.helpful_no.desc(), FaqArticle.slug))
    result = []
    for article in articles:
        texts = session.scalars(select(FaqVote).where(FaqVote.article_id == article.id, FaqVote.missing != "")
                                .order_by(FaqVote.created_at.desc(), FaqVote.id.desc()).limit(per_article))
        result.append(ArticleFeedback(article, list(texts)))
    return result
