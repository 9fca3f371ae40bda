"""FAQ articles: reading in the reader's language, Markdown rendering, editing, helpful votes.

Flask-free; functions flush, the caller commits. A slug is chosen once, when an article is created,
and never changes on edit, so links between articles and from e-mails keep working.
Search is in ``portal.services.helpdesk.faq_search``.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import markdown
import nh3
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from portal.db import utcnow
from portal.models import FaqArticle, FaqTranslation, FaqVote, User
from portal.models.faq import FAQ_CATEGORIES
from portal.textnorm import fold

LANGUAGE_ORDER = ("nb", "sv", "en")
RESERVED_SLUGS = frozenset({"manage", "helpful"})  # taken by the editor's URLs under /faq/
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ALLOWED_TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "h2", "h3", "h4", "code", "pre",
                "blockquote", "hr", "table", "thead", "tbody", "tr", "th", "td"}


class FaqError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def render_markdown(text: str) -> str:
    """Markdown to HTML with only safe tags kept (nh3); links get rel=noopener."""
    html = markdown.markdown(text or "", extensions=["tables", "sane_lists"], output_format="html")
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}, "th": {"align"}, "td": {"align"}},
                     link_rel="noopener noreferrer", url_schemes={"http", "https", "mailto", "tel"})


def plain_text(markdown_text: str) -> str:
    """The words of a Markdown body without tags or link targets: what the search index holds."""
    import html

    return " ".join(html.unescape(nh3.clean(render_markdown(markdown_text), tags=set())).split())


def language_order(language: str) -> list[str]:
    """The reader's language first, then the others in a fixed order."""
    return [language] + [code for code in LANGUAGE_ORDER if code != language]


def pick_translation(article: FaqArticle, language: str) -> FaqTranslation | None:
    """The translation in the reader's language, else the first other one that exists."""
    for code in language_order(language):
        found = article.translation(code)
        if found is not None:
            return found
    return None


def published_articles(session: Session, category: str | None = None) -> list[FaqArticle]:
    query = (select(FaqArticle).where(FaqArticle.published.is_(True)).options(selectinload(FaqArticle.translations))
             .order_by(FaqArticle.category, FaqArticle.position, FaqArticle.slug))
    if category:
        query = query.where(FaqArticle.category == category)
    return list(session.scalars(query))


def all_articles(session: Session) -> list[FaqArticle]:
    query = select(FaqArticle).options(selectinload(FaqArticle.translations)).order_by(FaqArticle.slug)
    return list(session.scalars(query))


def article_by_slug(session: Session, slug: str, *, include_drafts: bool = False) -> FaqArticle | None:
    query = select(FaqArticle).where(FaqArticle.slug == slug).options(selectinload(FaqArticle.translations))
    if not include_drafts:
        query = query.where(FaqArticle.published.is_(True))
    return session.scalar(query)


def slugify(title: str) -> str:
    return "-".join(fold(title).split())[:70] or "article"


def unique_slug(session: Session, base: str) -> str:
    slug, n = base, 2
    while slug in RESERVED_SLUGS or session.scalar(select(FaqArticle.id).where(FaqArticle.slug == slug)) is not None:
        slug, n = f"{base}-{n}", n + 1
    return slug


@dataclass
class ArticleText:
    title: str
    body_md: str


def save_article(session: Session, article: FaqArticle | None, *, category: str, published: bool,
                 texts: dict[str, ArticleText], actor: User | None, slug: str = "", position: int = 100,
                 ) -> FaqArticle:
    """Create (``article`` None) or edit an article. Languages with an empty title and body are removed;
    at least one language must remain. The slug is set on creation only (from ``slug`` or the first title)."""
    if category not in FAQ_CATEGORIES:
        raise FaqError("category")
    kept = {code: t for code, t in texts.items() if code in LANGUAGE_ORDER and (t.title.strip() or t.body_md.strip())}
    if not kept:
        raise FaqError("no_language")
    if any(not t.title.strip() or not t.body_md.strip() for t in kept.values()):
        raise FaqError("incomplete")
    if article is None:
        base = slug.strip().lower() if slug.strip() else slugify(next(iter(kept.values())).title)
        if not SLUG_RE.match(base):
            raise FaqError("slug")
        article = FaqArticle(slug=unique_slug(session, base), created_by_id=actor.id if actor else None)
        session.add(article)
    article.category, article.published, article.position = category, published, position
    article.updated_by_id = actor.id if actor else None
    article.updated_at = utcnow()
    session.flush()
    _apply_texts(session, article, kept)
    session.flush()
    session.refresh(article, ["translations"])
    return article


def _apply_texts(session: Session, article: FaqArticle, kept: dict[str, ArticleText]) -> None:
    for translation in list(article.translations):
        if translation.language not in kept:
            session.delete(translation)
    for code, text in kept.items():
        title, body = text.title.strip()[:200], text.body_md.strip()
        translation = article.translation(code)
        if translation is None:
            session.add(FaqTranslation(article_id=article.id, language=code, title=title, body_md=body,
                                       plain_text=plain_text(body)))
        elif (translation.title, translation.body_md) != (title, body):
            translation.title, translation.body_md, translation.plain_text = title, body, plain_text(body)


def voter_key(visitor_id: str) -> str:
    """What is stored for a vote: a hash of the visitor's cookie id (or "user:<id>"), never the raw value."""
    return hashlib.sha256(visitor_id.encode()).hexdigest()


def vote(session: Session, article: FaqArticle, visitor_id: str, helpful: bool) -> bool:
    """Count one "was this helpful?" answer per visitor and article; False if this visitor already voted."""
    key = voter_key(visitor_id)
    if session.scalar(select(FaqVote.id).where(FaqVote.article_id == article.id, FaqVote.voter_key == key)):
        return False
    try:
        with session.begin_nested():
            session.add(FaqVote(article_id=article.id, voter_key=key, helpful=helpful))
    except IntegrityError:  # the same visitor voting twice at the same moment
        return False
    if helpful:
        article.helpful_yes = FaqArticle.helpful_yes + 1
    else:
        article.helpful_no = FaqArticle.helpful_no + 1
    session.flush()
    session.refresh(article, ["helpful_yes", "helpful_no"])
    return True


def has_voted(session: Session, article: FaqArticle, visitor_id: str) -> bool:
    key = voter_key(visitor_id)
    return session.scalar(select(FaqVote.id).where(FaqVote.article_id == article.id, FaqVote.voter_key == key)) is not None
