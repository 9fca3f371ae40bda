"""After "not helpful": the reader may say what was missing; support reads it per article."""
from __future__ import annotations

from flask import redirect, url_for

from portal.extensions import db_session
from portal.faq import CATEGORY_LABELS, bp
from portal.faq.forms import MissingForm
from portal.faq.manage import staff_required
from portal.faq.reading import VOTE_LIMIT, _article, _article_page, _visitor_id
from portal.auth.limits import limiter
from portal.htmx import render, wants_fragment
from portal.services.helpdesk import faq, faq_feedback
from portal.web import current_language


@bp.route("/faq/<slug>/missing", methods=["POST"])
@limiter.limit(VOTE_LIMIT)
def missing(slug: str):
    """Only a reader who answered "not helpful" on this article can add what was missing."""
    found = _article(slug)
    visitor, _fresh = _visitor_id()
    form = MissingForm()
    session = db_session()
    if faq_feedback.not_helpful_vote(session, found, visitor) is None:
        return _article_page(found, faq.has_voted(session, found, visitor), status=422)
    if not form.validate_on_submit():
        return _article_page(found, True, status=422, just_voted=True, missing_form=form)
    faq_feedback.save_missing(session, found, visitor, form.missing.data or "")
    session.commit()
    if wants_fragment():
        return _article_page(found, True, missing_sent=True)
    return redirect(url_for("faq.article", slug=found.slug), code=303)


@bp.route("/faq/manage/feedback")
@staff_required
def manage_feedback():
    language = current_language()
    rows = [(item, faq.pick_translation(item.article, language)) for item in faq_feedback.feedback(db_session())]
    return render("faq/feedback.html", rows=rows, category_labels=CATEGORY_LABELS)
