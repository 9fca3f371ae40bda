"""Log in and log out; registration, password reset and the account page live in sibling modules."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from portal.auth import bp
from portal.auth.forms import LoginForm
from portal.auth.helpers import queue_verify_email
from portal.auth.limits import LOGIN_LIMIT, LOGIN_PER_ACCOUNT_LIMIT, email_and_address, limiter
from portal.db import utcnow
from portal.extensions import db_session, redis_conn
from portal.htmx import redirect_to, render
from portal.models import User
from portal.security.events import security_event
from portal.security.redirects import safe_next
from portal.security.sessions import log_in, log_out
from portal.services.people.mail import enqueue_outbox
from portal.services.people.secrets import hash_secret, needs_rehash, verify_secret, verify_unknown_account


def landing_page(user: User) -> str:
    """Staff land on their console; everyone else on the home page."""
    return url_for("staff.index") if user.is_staff else url_for("public.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
@limiter.limit(LOGIN_PER_ACCOUNT_LIMIT, methods=["POST"], key_func=email_and_address)
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next"), landing_page(current_user)))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render("auth/login.html", block="form", status=status, form=form)
    session = db_session()
    email = form.email.data.strip().lower()
    user = session.scalar(select(User).where(func.lower(User.email) == email))
    # One password check on every path, so the time taken does not tell which accounts exist.
    correct = verify_secret(user.password_hash, form.password.data) if user else verify_unknown_account(
        form.password.data)
    if not correct or not user.active:
        security_event("log-in failed for %s", f"user {user.id}" if user else "an unknown address")
        form.password.errors = [_("Wrong e-mail or password.")]
        return render("auth/login.html", block="form", status=422, form=form)
    if user.email_verified_at is None:
        mail = queue_verify_email(user, safe_next(form.next.data, ""))
        session.commit()
        enqueue_outbox(redis_conn(), [mail.id])
        form.email.errors = [_("Confirm your e-mail address first: we have sent you a new link.")]
        return render("auth/login.html", block="form", status=422, form=form)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_secret(form.password.data)
    user.last_login_at = utcnow()
    log_in(user, remember=bool(form.remember.data))
    session.commit()
    security_event("log-in of user %s", user.id)
    return redirect_to(safe_next(form.next.data, landing_page(user)))


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    security_event("log-out of user %s", current_user.id)
    log_out()
    db_session().commit()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"), code=303)

