"""Log in and log out; registration, password reset and the account page live in sibling modules."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from portal.auth.forms import LoginForm
from portal.auth.limits import LOGIN_LIMIT, LOGIN_PER_ACCOUNT_LIMIT, email_and_address, init_limiter, limiter
from portal.db import utcnow
from portal.extensions import db_session
from portal.htmx import render
from portal.models import User
from portal.security.redirects import safe_next
from portal.security.sessions import log_in, log_out
from portal.services.secrets import hash_secret, needs_rehash, verify_secret, verify_unknown_account

bp = Blueprint("auth", __name__)
bp.record_once(lambda state: init_limiter(state.app))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
@limiter.limit(LOGIN_PER_ACCOUNT_LIMIT, methods=["POST"], key_func=email_and_address)
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next"), url_for("public.home")))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render("auth/login.html", block="form", status=status, form=form)
    session = db_session()
    email = form.email.data.strip().lower()
    user = session.scalar(select(User).where(func.lower(User.email) == email))
    if user is None:
        verify_unknown_account(form.password.data)
    if user is None or not user.active or not verify_secret(user.password_hash, form.password.data):
        form.password.errors = [_("Wrong e-mail or password.")]
        return render("auth/login.html", block="form", status=422, form=form)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_secret(form.password.data)
    user.last_login_at = utcnow()
    log_in(user, remember=bool(form.remember.data))
    session.commit()
    from portal.htmx import wants_fragment

    target = safe_next(form.next.data, url_for("public.home"))
    if wants_fragment():
        response = redirect(target)
        response.status_code = 204
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    log_out()
    db_session().commit()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"), code=303)


# Views registered on the same blueprint (imported last: they import bp from here).
from portal.auth import account, register, reset  # noqa: E402,F401
