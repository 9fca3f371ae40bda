"""The account page's privacy part: download one's data (zip) and delete the account.

The work is done by Flask-free services (portal/services/people/privacy.py and erasure.py), shared with the
staff console (portal/staff/people.py); these views parse, check and render.
"""
from __future__ import annotations

from flask import current_app, flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import InputRequired, Length

from portal import refusals
from portal.auth.limits import limiter
from portal.data_rights import export_response, operator, queue_deletion_email
from portal.auth import bp
from portal.extensions import db_session, redis_conn
from portal.htmx import hx_redirect, render
from portal.models import User
from portal.security.events import security_event
from portal.security.sessions import log_out
from portal.services.people import erasure
from portal.services.sites import audit
from portal.services.people.mail import enqueue_outbox
from portal.services.people.secrets import verify_secret

EXPORT_LIMIT = "5 per hour; 20 per day"  # per account: building the zip reads everything the person has
DELETE_LIMIT = "10 per hour"  # password tries on the deletion form, per account

class ExportForm(FlaskForm):
    """A button: the download is a POST so it carries the CSRF token and is counted."""


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[InputRequired(), Length(max=200)])
    confirm_email = StringField(_l("Type your e-mail address to confirm"),
                                validators=[InputRequired(), Length(max=254)])


def _user() -> User:
    return db_session().get(User, current_user.id)


@bp.route("/account/export", methods=["POST"])
@login_required
@limiter.limit(EXPORT_LIMIT, methods=["POST"], key_func=lambda: f"export:{getattr(current_user, 'id', None)}")
def account_export():
    """Download all one's data as a zip of JSON and CSV files."""
    if not ExportForm().validate_on_submit():
        flash(_("The form had expired. Please try again."), "error")
        return hx_redirect("auth.account")
    security_event("data export downloaded by user %s", current_user.id)
    return export_response(_user())


def _delete_page(user: User, form: DeleteAccountForm, status: int = 200, refusal: str | None = None):
    preview = erasure.preview(db_session(), user)
    code = refusal or preview.refusal
    return render("auth/account_delete.html", block="delete_form", status=status, user=user, form=form,
                  preview=preview, refusal=refusals.text("privacy", code) if code else None)


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
@limiter.limit(DELETE_LIMIT, methods=["POST"], key_func=lambda: f"delete:{getattr(current_user, 'id', None)}")
def account_delete():
    """What deleting the account does, and the form that does it (password and the typed address)."""
    user = _user()
    form = DeleteAccountForm()
    if not form.validate_on_submit():
        return _delete_page(user, form, 422 if form.is_submitted() else 200)
    valid = True
    if not verify_secret(user.password_hash, form.password.data):
        form.password.errors = [_("That is not your password.")]
        valid = False
    if form.confirm_email.data.strip().lower() != user.email.lower():
        form.confirm_email.errors = [_("Type the e-mail address you log in with, exactly as shown above.")]
        valid = False
    if not valid:
        return _delete_page(user, form, 422)
    session = db_session()
    try:
        result = erasure.delete_account(session, user, operator(), upload_dir=current_app.config.get("UPLOAD_DIR"))
    except erasure.DeletionRefused as exc:
        session.rollback()
        return _delete_page(_user(), form, 409, exc.code)
    audit.record(session, None, None, "user", result.user_id, "account_deleted",
                 after={"by": "account holder", "documents": [d.number for d in result.documents]}, area="staff",
                 reason="deleted by the account holder")
    mail = queue_deletion_email(session, result)
    log_out()
    session.commit()
    security_event("account %s deleted by its owner", result.user_id)
    enqueue_outbox(redis_conn(), [mail.id])
    flash(_("Your account is deleted. A confirmation is on its way to your e-mail."), "success")
    return hx_redirect("public.home")
