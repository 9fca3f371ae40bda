"""Creating and editing FAQ articles (support, sales and operator admins): preview before saving.

The slug is chosen when the article is created and never changes on edit, so links keep working.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal import refusals
from portal.extensions import db_session
from portal.faq import CATEGORY_LABELS, LANGUAGE_NAMES, bp
from portal.faq.forms import RESERVED_SLUGS, ArticleForm
from portal.htmx import redirect_to, render
from portal.models import FaqArticle
from portal.services.helpdesk import faq
from portal.services.staff import roles

def staff_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        # FAQ editing belongs to support (and admins); sales staff read the FAQ like everyone else.
        if not roles.allowed(current_user, "support"):
            abort(403)
        return view(*args, **kwargs)
    return wrapped


@bp.route("/faq/manage/")
@staff_required
def manage_list():
    return render("faq/manage_list.html", articles=faq.all_articles(db_session()), category_labels=CATEGORY_LABELS)


def _editor(form: ArticleForm, article: FaqArticle | None, status: int = 200, preview: dict | None = None,
            problem: str = ""):
    return render("faq/edit.html", block="editor", status=status, form=form, article=article, preview=preview,
                  problem=problem, language_names=LANGUAGE_NAMES)


def _previews(form: ArticleForm) -> dict:
    return {code: (text.title, faq.render_markdown(text.body_md)) for code, text in form.texts().items()
            if text.title.strip() or text.body_md.strip()}


def _save(form: ArticleForm, article: FaqArticle | None):
    if request.form.get("action") == "preview" and form.validate_on_submit():
        return _editor(form, article, preview=_previews(form))
    if not form.validate_on_submit():
        return _editor(form, article, 422)
    if article is None and (form.slug.data or "") in RESERVED_SLUGS:
        form.slug.errors = [_("This address is reserved. Choose another.")]
        return _editor(form, article, 422)
    session = db_session()
    try:
        saved = faq.save_article(session, article, category=form.category.data, published=form.published.data,
                                 texts=form.texts(), actor=current_user, slug=form.slug.data or "",
                                 position=form.position.data if form.position.data is not None else 100)
    except faq.FaqError as exc:
        session.rollback()
        return _editor(form, article, 422, problem=refusals.text("faq", exc.code))
    session.commit()
    flash(_("The article is saved."), "success")
    return redirect_to(url_for("faq.manage_edit", article_id=saved.id))


@bp.route("/faq/manage/new", methods=["GET", "POST"])
@staff_required
def manage_new():
    form = ArticleForm()
    if request.method == "GET":
        return _editor(form, None)
    return _save(form, None)


@bp.route("/faq/manage/<int:article_id>", methods=["GET", "POST"])
@staff_required
def manage_edit(article_id: int):
    article = db_session().get(FaqArticle, article_id)
    if article is None:
        abort(404)
    form = ArticleForm()
    if request.method == "GET":
        form.fill(article)
        return _editor(form, article)
    return _save(form, article)
