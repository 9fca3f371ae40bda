"""Registration: a new resident account, logged in at once, then on to a safe `next`."""
from __future__ import annotations

from flask import flash, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from portal.auth.forms import RegisterForm
from portal.auth.helpers import redirect_after_form, remember_language
from portal.auth.limits import REGISTER_LIMIT, limiter
from portal.auth.routes import bp
from portal.security.redirects import safe_next
from portal.security.sessions import log_in
from portal.extensions import db_session, redis_conn
from portal.htmx import render
from portal.services.accounts import EmailTaken, register_user
from portal.services.mail import enqueue_outbox, portal_url, queue_templated_email
from portal.web import current_language


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(REGISTER_LIMIT, methods=["POST"])
def register():
    if current_user.is_authenticated and request.method == "GET":
        return redirect_after_form(safe_next(request.args.get("next"), url_for("public.home")))
    form = RegisterForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")[:500]
        form.language.data = current_language()
    if not form.validate_on_submit():
        return render("auth/register.html", block="form", status=422 if request.method == "POST" else 200, form=form)
    session = db_session()
    try:
        user = register_user(session, email=form.email.data, password=form.password.data,
                             name=form.name.data, language=form.language.data)
    except (EmailTaken, IntegrityError):
        session.rollback()
        form.email.errors = [_("An account with this e-mail address exists already. "
                               "Log in, or use \u201cForgot your password?\u201d.")]
        return render("auth/register.html", block="form", status=422, form=form)
    mail = queue_templated_email(session, to=user.email, template="welcome", language=user.language,
                                 name=user.display_name, login_url=portal_url("auth.login"))
    log_in(user, remember=False)
    session.commit()
    enqueue_outbox(redis_conn(), [mail.id])
    with force_locale(user.language):  # the next page is shown in the language just chosen
        flash(_("Welcome! Your account is ready."), "success")
    target = safe_next(form.next.data, url_for("public.home"))
    return remember_language(redirect_after_form(target), user.language)
