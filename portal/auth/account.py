"""The account page: name, language and password."""
from __future__ import annotations

from flask import flash, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from portal.auth.forms import NotificationsForm, PasswordChangeForm, ProfileForm
from portal.auth.helpers import redirect_after_form, remember_language
from portal.auth.limits import LOGIN_PER_ACCOUNT_LIMIT, limiter
from portal.auth.routes import bp
from portal.db import utcnow
from portal.extensions import db_session, redis_conn
from portal.htmx import render
from portal.models import User
from portal.services.accounts import set_password, update_profile
from portal.services.mail import enqueue_outbox, portal_url, queue_templated_email
from portal.services.secrets import verify_secret


def _user() -> User:
    """The logged-in user, attached to this request's session."""
    return db_session().get(User, current_user.id)


def _page(user: User, *, profile: ProfileForm | None = None, password: PasswordChangeForm | None = None,
          block: str | None = None, status: int = 200, password_saved: bool = False, notify_saved: bool = False):
    profile = profile or ProfileForm(prefix="profile", formdata=None, name=user.name, language=user.language)
    password = password or PasswordChangeForm(prefix="password", formdata=None)
    notify = NotificationsForm(prefix="notify", formdata=None,
                               **{k: getattr(user, f"notify_{k}") for k in NotificationsForm.KINDS})
    return render("auth/account.html", block=block, status=status, user=user, notify_form=notify,
                  notify_saved=notify_saved, profile_form=profile, password_form=password,
                  password_saved=password_saved)


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
    update_profile(user, name=form.name.data, language=form.language.data)
    db_session().commit()
    with force_locale(user.language):  # the page comes back in the language just chosen
        flash(_("Your details are saved."), "success")
    return remember_language(redirect_after_form(url_for("auth.account")), user.language)


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
    session.commit()
    login_user(user, remember=True)  # this device stays logged in; every other session ends
    enqueue_outbox(redis_conn(), [mail.id])
    return _page(user, block="password_form", password_saved=True)
