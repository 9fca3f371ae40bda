"""Password reset by e-mail link. The answer never tells whether an account exists."""
from __future__ import annotations

from flask import current_app, flash, request, url_for
from flask_babel import gettext as _

from portal.auth import bp
from portal.auth.forms import ResetPasswordForm, ResetRequestForm
from portal.auth.limits import (
    RESET_LIMIT, RESET_MAILS_PER_ACCOUNT, RESET_PER_ADDRESS_LIMIT, address_key, email_and_address, hit, limiter,
)
from portal.extensions import db_session, redis_conn
from portal.htmx import redirect_to, render
from portal.security.events import security_event
from portal.security.sessions import log_in
from portal.services.people import login_sessions
from portal.services.people.accounts import (
    RESET_MAX_AGE_S, make_reset_token, mark_verified, set_password, user_for_reset_token,
)
from portal.services.people.mail import enqueue_outbox, portal_url, queue_templated_email
from portal.services.sites.onboarding import find_user
from portal.web import current_language

TOKEN_MAX_LENGTH = 400


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(RESET_LIMIT, methods=["POST"])
@limiter.limit(RESET_PER_ADDRESS_LIMIT, methods=["POST"], key_func=email_and_address)
def reset_request():
    form = ResetRequestForm()
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render("auth/reset_request.html", block="form", status=status, form=form, sent=False)
    session = db_session()
    user = find_user(session, form.email.data)
    if not hit(RESET_MAILS_PER_ACCOUNT, "reset-mails", address_key(form.email.data)):
        # enough links went to this inbox this hour; they all still work. The page says the same.
        return render("auth/reset_request.html", block="form", form=form, sent=True,
                      minutes=RESET_MAX_AGE_S // 60)
    if user is not None and user.active:
        token, expires_at = make_reset_token(user, current_app.secret_key)
        mail = queue_templated_email(
            session, to=user.email, template="password_reset", language=user.language,
            name=user.display_name, reset_url=portal_url("auth.reset_password", token=token), expires_at=expires_at,
        )
        security_event("password reset link sent to user %s", user.id)
    else:  # the same work and answer: the inbox learns there is no account, the page never says
        mail = queue_templated_email(session, to=form.email.data.strip(), template="reset_unknown",
                                     language=current_language(), register_url=portal_url("auth.register"))
    session.commit()
    enqueue_outbox(redis_conn(), [mail.id])
    return render("auth/reset_request.html", block="form", form=form, sent=True,
                  minutes=RESET_MAX_AGE_S // 60)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(RESET_LIMIT, methods=["POST"])
def reset_password(token: str):
    session = db_session()
    user = None
    if len(token) <= TOKEN_MAX_LENGTH:
        user = user_for_reset_token(session, token, current_app.secret_key)
    if user is None:
        return render("auth/reset_password.html", block="form", status=400, form=None, token=token)
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render("auth/reset_password.html", block="form", status=status, form=form, token=token)
    set_password(user, form.password.data)
    mark_verified(user)  # the link reached this inbox
    security_event("password reset by user %s", user.id)
    login_sessions.end_all(session, user.id)  # whoever knew the old password is logged out everywhere
    log_in(user, remember=False)
    session.commit()
    flash(_("Your new password is saved, and you are logged in."), "success")
    return redirect_to(url_for("public.home"))
