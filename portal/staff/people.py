"""A person's data on request (GDPR art. 15, 17, 20): support and admins download it or delete the account
for someone who asked by e-mail. Each step names the request in the staff audit log (who asked, why)."""
from __future__ import annotations

from flask import abort, current_app, flash, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from portal import refusals
from portal.data_rights import export_response, operator, queue_deletion_email
from portal.extensions import db_session, redis_conn
from portal.htmx import hx_redirect, render
from portal.models import User
from portal.security.events import security_event
from portal.services.people import erasure
from portal.services.sites import audit
from portal.services.people.mail import enqueue_outbox
from portal.staff import bp
from portal.staff.common import staff_area
from portal.staff.forms import REASON


class PersonExportForm(FlaskForm):
    reason = TextAreaField(_l("The request (when and how it came; not the person's name or address)"), **REASON)


class PersonDeleteForm(FlaskForm):
    reason = TextAreaField(_l("The request (when and how it came; not the person's name or address)"), **REASON)
    confirm_email = StringField(_l("Type the account's e-mail address to confirm"),
                                validators=[InputRequired(), Length(max=254)])


def _person(user_id: int) -> User:
    user = db_session().get(User, user_id)
    if user is None:
        abort(404)
    return user


def _page(user: User, export_form=None, delete_form=None, status: int = 200, refusal: str | None = None):
    preview = erasure.preview(db_session(), user)
    code = refusal or preview.refusal
    return render("staff/person.html", status=status, person=user, preview=preview, section="people",
                  export_form=export_form or PersonExportForm(formdata=None),
                  delete_form=delete_form or PersonDeleteForm(formdata=None),
                  refusal=refusals.text("privacy", code) if code else None)


@bp.route("/people")
@staff_area("support")
def people():
    """Find a person's account by e-mail to act on their request."""
    q = request.args.get("q", "").strip().lower()[:100]
    users = []
    if q:
        users = list(db_session().scalars(select(User).where(func.lower(User.email).like(f"%{q}%"))
                                          .order_by(User.email).limit(50)))
    return render("staff/people.html", users=users, q=q, section="people")


@bp.route("/people/<int:user_id>")
@staff_area("support")
def person(user_id: int):
    return _page(_person(user_id))


@bp.route("/people/<int:user_id>/export", methods=["POST"])
@staff_area("support")
def person_export(user_id: int):
    """Download the person's zip to send to them; the request goes in the audit log."""
    user = _person(user_id)
    form = PersonExportForm()
    if not form.validate_on_submit():
        return _page(user, export_form=form, status=422)
    audit.record(db_session(), current_user, None, "user", user.id, "data_exported", area="staff",
                 reason=erasure.Scrubber(user, []).text(form.reason.data))
    db_session().commit()
    security_event("data export of user %s downloaded by staff %s", user.id, current_user.id)
    return export_response(user)


@bp.route("/people/<int:user_id>/delete", methods=["POST"])
@staff_area("support")
def person_delete(user_id: int):
    """Delete the account on the person's request, as they could themselves (billing first)."""
    user = _person(user_id)
    form = PersonDeleteForm()
    valid = form.validate_on_submit()
    if valid and form.confirm_email.data.strip().lower() != user.email.lower():
        form.confirm_email.errors = [_("Type the account's e-mail address exactly as shown above.")]
        valid = False
    if not valid:
        return _page(user, delete_form=form, status=422)
    session = db_session()
    reason = erasure.Scrubber(user, []).text(form.reason.data)
    try:
        result = erasure.delete_account(session, user, operator(), upload_dir=current_app.config.get("UPLOAD_DIR"))
    except erasure.DeletionRefused as exc:
        session.rollback()
        return _page(_person(user_id), delete_form=form, status=409, refusal=exc.code)
    audit.record(session, current_user, None, "user", result.user_id, "account_deleted", area="staff",
                 after={"by": "staff", "documents": [d.number for d in result.documents]}, reason=reason)
    mail = queue_deletion_email(session, result)
    session.commit()
    security_event("account %s deleted by staff %s", result.user_id, current_user.id)
    enqueue_outbox(redis_conn(), [mail.id])
    flash(_("The account is deleted: %(pseudonym)s. A confirmation went to the person's address.",
            pseudonym=result.pseudonym), "success")
    return hx_redirect("staff.people")
