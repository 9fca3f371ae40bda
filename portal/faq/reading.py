"""Reading the FAQ: the list, search as you type, one article, and "was this helpful?"."""
from __future__ import annotations

import secrets

from flask import abort, g, make_response, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

from portal.auth.limits import limiter
from portal.extensions import db_session
from portal.faq import CATEGORY_LABELS, LANGUAGE_NAMES, bp
from portal.faq.forms import MissingForm
from portal.htmx import render, wants_fragment
from portal.models import FaqArticle
from portal.services.helpdesk import faq, faq_feedback, faq_search
from portal.web import current_language

VOTER_COOKIE = "faq_voter"
VOTE_LIMIT = "30 per hour"  # per address: a visitor who clears cookies cannot stuff the count


@bp.route("/faq")
def index():
    """All published articles by category; with ?q= the search hits (htmx gets only the hits)."""
    language = current_language()
    query = request.args.get("q", "")[:100]
    session = db_session()
    hits = faq_search.search(session, query, language) if query.strip() else []
    suggested = [] if hits or not query.strip() else [
        (a, faq.pick_translation(a, language)) for a in faq_feedback.most_read(session)]
    articles = [] if query.strip() else faq.published_articles(session)
    by_category: dict[str, list] = {}
    for article in articles:
        translation = faq.pick_translation(article, language)
        if translation:
            by_category.setdefault(article.category, []).append((article, translation))
    return render("faq/index.html", block="results", query=query, hits=hits, by_category=by_category, suggested=suggested,
                  category_labels=CATEGORY_LABELS, language_names=LANGUAGE_NAMES)


def _visitor_id() -> tuple[str, str | None]:
    """Who is voting: the account, or a random id kept in a cookie (returned when new, to be set)."""
    if current_user.is_authenticated:
        return f"user:{current_user.id}", None
    cookie = request.cookies.get(VOTER_COOKIE, "")
    if 16 <= len(cookie) <= 64 and cookie.replace("-", "").replace("_", "").isalnum():
        return f"visitor:{cookie}", None
    if "faq_fresh_visitor" not in g:  # one new id per request, however often it is asked for
        g.faq_fresh_visitor = secrets.token_urlsafe(18)
    return f"visitor:{g.faq_fresh_visitor}", g.faq_fresh_visitor


def _article(slug: str) -> FaqArticle:
    article = faq.article_by_slug(db_session(), slug)
    if article is None:
        abort(404)
    return article


def _article_page(article: FaqArticle, voted: bool, status: int = 200, just_voted: bool = False, **extra):
    language = current_language()
    extra.setdefault("missing_form", MissingForm())
    chosen = request.args.get("lang", "")
    translation = article.translation(chosen) if chosen in LANGUAGE_NAMES else None
    translation = translation or faq.pick_translation(article, language)
    related = [(a, faq.pick_translation(a, language)) for a in faq.published_articles(db_session(), article.category)
               if a.id != article.id][:5]
    return render("faq/article.html", block="vote", status=status, article=article, translation=translation,
                  body_html=faq.render_markdown(translation.body_md), voted=voted, just_voted=just_voted,
                  others=[t for t in article.translations if t.language != translation.language],
                  related=related, category_labels=CATEGORY_LABELS, language_names=LANGUAGE_NAMES,
                  own_vote=_own_vote(article), **extra)


def _own_vote(article: FaqArticle):
    """This reader's answer to "was this helpful?" (None: not yet)."""
    from portal.models import FaqVote

    visitor, _fresh = _visitor_id()
    return db_session().scalar(select(FaqVote).where(FaqVote.article_id == article.id,
                                                     FaqVote.voter_key == faq.voter_key(visitor)))


@bp.route("/faq/<slug>")
def article(slug: str):
    found = _article(slug)
    visitor, _fresh = _visitor_id()
    session = db_session()
    faq_feedback.record_read(session, found)
    session.commit()
    return _article_page(found, faq.has_voted(session, found, visitor))


@bp.route("/faq/<slug>/helpful", methods=["POST"])
@limiter.limit(VOTE_LIMIT)
def vote(slug: str):
    """Count the answer once per visitor; a second answer is politely ignored."""
    found = _article(slug)
    answer = request.form.get("helpful", "")
    if answer not in ("yes", "no"):
        abort(400)
    visitor, fresh = _visitor_id()
    session = db_session()
    counted = faq.vote(session, found, visitor, answer == "yes")
    session.commit()
    if wants_fragment():
        response = make_response(_article_page(found, True, just_voted=counted))
    else:
        response = redirect(url_for("faq.article", slug=found.slug), code=303)
    if fresh:
        response.set_cookie(VOTER_COOKIE, fresh, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                            secure=request.is_secure)
    return response
