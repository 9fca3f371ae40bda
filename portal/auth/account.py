"""The account page: name, language and password."""
from __future__ import annotations

from flask import abort, flash, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal import phones
from portal.auth import bp
from portal.auth.forms import NotificationsForm, PasswordChangeForm, ProfileForm
from portal.auth.helpers import remember_language
from portal.auth.limits import LOGIN_PER_ACCOUNT_LIMIT, limiter
from portal.db import utcnow
from portal.extensions import db_session, redis_conn
from portal.htmx import hx_redirect, redirect_to, render
from portal.models import User
from portal.security.events import security_event
from portal.security.sessions import current_login_session, limits, log_out
from portal.services.people import login_sessions
from portal.services.people.accounts import set_password, update_profile
from portal.services.people.mail import enqueue_outbox, portal_url, queue_templated_email
from portal.services.people.secrets import verify_secret


def _user() -> User:
    """The logged-in user, attached to this request's session."""
    return db_session().get(User, current_user.id)


def _page(user: User, *, profile: ProfileForm | None = None, password: PasswordChangeForm | None = None,
          block: str | None = None, status: int = 200, password_saved: bool = False, sessions_ended: int = -1,
          notify_saved: bool = False):
    profile = profile or ProfileForm(prefix="profile", formdata=None, name=user.name, language=user.language,
                                     phone=phones.display_typed(user.phone, phones.region_for(user.language)))
    password = password or PasswordChangeForm(prefix="password", formdata=None)
    notify = NotificationsForm(prefix="notify", formdata=None,
                               **{k: getattr(user, f"notify_{k}") for k in NotificationsForm.KINDS})
    this = current_login_session()
    devices = [(row, login_sessions.device_label(row.user_agent), this is not None and row.id == this.id)
               for row in login_sessions.active(db_session(), user.id, limits())]
    return render("auth/account.html", block=block, status=status, user=user, devices=devices,
                  sessions_ended=sessions_ended, notify_form=notify, notify_saved=notify_saved,
                  profile_form=profile, password_form=password, password_saved=password_saved)


@bp.route("/account/notifications", methods=["POST"])
@login_required
def account_notifications():
    """Turn each notification e-mail on or off (an unticked box is off)."""
    user = _user()
    form = NotificationsForm(prefix="notify")
    if not form.validate_on_submit():
        return _page(user, block="notify_form", status=422)
    for kind in NotificationsForm.KINDS:
        setattr(user, f"notify_{kind}", bool(form[kind].data))
    db_session().commit()
    return _page(user, block="notify_form", notify_saved=True)


@bp.route("/account")
@login_required
def account():
    return _page(_user())


@bp.route("/account/profile", methods=["POST"])
@login_required
def account_profile():
    user = _user()
    form = ProfileForm(prefix="profile")
    if not form.validate_on_submit():
        return _page(user, profile=form, block="profile_form", status=422)
    update_profile(user, name=form.name.data, language=form.language.data, phone=form.phone.data or "")
    db_session().commit()
    with force_locale(user.language):  # the page comes back in the language just chosen
        flash(_("Your details are saved."), "success")
    return remember_language(redirect_to(url_for("auth.account")), user.language)


@bp.route("/account/password", methods=["POST"])
@login_required
@limiter.limit(LOGIN_PER_ACCOUNT_LIMIT, methods=["POST"], key_func=lambda: f"user:{current_user.get_id()}")
def account_password():
    user = _user()
    form = PasswordChangeForm(prefix="password")
    valid = form.validate_on_submit()
    if valid and not verify_secret(user.password_hash, form.current_password.data):
        form.current_password.errors = [_("That is not your current password.")]
        valid = False
    if not valid:
        return _page(user, password=form, block="password_form", status=422)
    set_password(user, form.new_password.data)
    session = db_session()
    mail = queue_templated_email(session, to=user.email, template="password_changed", language=user.language,
                                 name=user.display_name, changed_at=utcnow(),
                                 reset_url=portal_url("auth.reset_request"))
    this = current_login_session()
    login_sessions.end_all(session, user.id, keep_id=this.id if this else None)  # this device stays logged in
    session.commit()
    security_event("password changed by user %s", user.id)
    enqueue_outbox(redis_conn(), [mail.id])
    return _page(user, block="password_form", password_saved=True)


@bp.route("/account/sessions/<int:login_session_id>/end", methods=["POST"])
@login_required
def account_session_end(login_session_id: int):
    """End one of one's own log-in sessions (a lost phone); ending this one logs out here."""
    this = current_login_session()
    if this is not None and this.id == login_session_id:
        log_out()
        db_session().commit()
        return hx_redirect("auth.login")
    if not login_sessions.end(db_session(), current_user.id, login_session_id):
        abort(404)
    db_session().commit()
    security_event("session %s of user %s ended by its owner", login_session_id, current_user.id)
    return _page(_user(), block="sessions", sessions_ended=1)


@bp.route("/account/sessions/end-others", methods=["POST"])
@login_required
def account_sessions_end_others():
    this = current_login_session()
    ended = login_sessions.end_all(db_session(), current_user.id, keep_id=this.id if this else None)
    db_session().commit()
    security_event("%s other sessions of user %s ended by its owner", ended, current_user.id)
    return _page(_user(), block="sessions", sessions_ended=ended)
