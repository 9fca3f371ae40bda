"""Registration with a confirmed e-mail address. The answer never tells whether an address has an account.

Every valid registration answers "check your e-mail" and does the same work (one password hash, one
e-mail queued): a new address gets a confirmation link; an address whose account never confirmed gets
a fresh link (the newest attempt's password counts); an address with an account gets a note saying so
(to that inbox only); a deactivated account gets nothing, after the same work. The link
(/verify/<token>) confirms the address and logs in; only confirmed addresses can log in or accept invites.
"""
from __future__ import annotations

from flask import current_app, flash, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal.auth import bp
from portal.auth.forms import RegisterForm, VerifyForm
from portal.auth.helpers import queue_verify_email, remember_language
from portal.auth.limits import (
    REGISTER_LIMIT, RESET_PER_ADDRESS_LIMIT, VERIFY_LIMIT, VERIFY_PER_LINK_LIMIT, limiter, link_key, submitted_email,
)
from portal.extensions import db_session, redis_conn
from portal.htmx import redirect_to, render
from portal.models import OutboxEmail
from portal.security.redirects import safe_next
from portal.security.sessions import log_in
from portal.services.people.accounts import mark_verified, register_user, restart_registration, user_for_verify_token
from portal.services.people.mail import enqueue_outbox, portal_url, queue_templated_email
from portal.services.sites.onboarding import find_user
from portal.services.people.secrets import hash_secret, verify_secret
from portal.web import current_language

TOKEN_MAX_LENGTH = 600


def _register(form: RegisterForm) -> OutboxEmail | None:
    """The work behind every valid registration; the e-mail to send, if any."""
    session = db_session()
    details = dict(password=form.password.data, name=form.name.data, language=form.language.data)
    next_url = safe_next(form.next.data, "")
    existing = find_user(session, form.email.data)
    if existing is None:
        return queue_verify_email(register_user(session, email=form.email.data, **details), next_url)
    if existing.active and existing.email_verified_at is None:
        restart_registration(existing, **details)
        return queue_verify_email(existing, next_url)
    hash_secret(form.password.data)  # the same time as creating an account
    if not existing.active:
        return None
    return queue_templated_email(session, to=existing.email, template="account_exists",
                                 language=existing.language, name=existing.display_name,
                                 login_url=portal_url("auth.login"), reset_url=portal_url("auth.reset_request"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(REGISTER_LIMIT, methods=["POST"])
@limiter.limit(RESET_PER_ADDRESS_LIMIT, methods=["POST"], key_func=submitted_email,
               deduct_when=lambda response: response.status_code == 200)  # e-mails to one address
def register():
    if current_user.is_authenticated and request.method == "GET":
        return redirect_to(safe_next(request.args.get("next"), url_for("public.home")))
    form = RegisterForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")[:500]
        form.language.data = current_language()
    if not form.validate_on_submit():
        return render("auth/register.html", block="form", status=422 if request.method == "POST" else 200,
                      form=form, sent=False)
    mail = _register(form)
    db_session().commit()
    if mail is not None:
        enqueue_outbox(redis_conn(), [mail.id])
    return render("auth/register.html", block="form", form=form, sent=True, email=form.email.data.strip())


@bp.route("/verify/<token>", methods=["GET", "POST"])
@limiter.limit(VERIFY_LIMIT, methods=["POST"])
@limiter.limit(VERIFY_PER_LINK_LIMIT, methods=["POST"], key_func=link_key)
def verify_email(token: str):
    """The confirmation link. GET shows the form (mail scanners open links); POST with the password chosen
    at registration confirms and logs in, so a link to an account someone else registered is no use."""
    session = db_session()
    found = user_for_verify_token(session, token, current_app.secret_key) if len(token) <= TOKEN_MAX_LENGTH else None
    if found is None:
        return render("auth/verify_email.html", status=400, valid=False, form=None)
    user, next_url = found
    form = VerifyForm()
    valid = form.validate_on_submit()
    if valid and not verify_secret(user.password_hash, form.password.data):
        form.password.errors = [_("That is not the password you chose.")]
        valid = False
    if not valid:
        status = 422 if request.method == "POST" else 200
        return render("auth/verify_email.html", block="form", status=status, valid=True, form=form)
    mark_verified(user)
    log_in(user, remember=False)
    session.commit()
    with force_locale(user.language):  # the next page is shown in the account's language
        flash(_("Welcome! Your e-mail address is confirmed and your account is ready."), "success")
    target = safe_next(next_url, url_for("public.home"))
    return remember_language(redirect_to(target), user.language)
