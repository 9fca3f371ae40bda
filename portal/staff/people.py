"""A page per person for support: find someone by name, e-mail, phone or RFID tag (a part of it is enough) and
land on one page with their sites and access, tags, favourites, recent sessions and requests, statements,
tickets, notification choices and log-in devices, with the actions support may take from there
(portal.staff.person_actions). Also the person's data on request (GDPR art. 15, 17, 20): support and admins
download it or delete the account for someone who asked; each step names the request in the staff audit log."""
from __future__ import annotations

from flask import abort, current_app, flash, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
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
from portal.phones import display_typed, region_for
from portal.security.sessions import limits
from portal.services.staff.person import person_page, search
from portal.staff.forms import REASON
from portal.staff.tickets import status_labels
from portal.staff.person_forms import (
    BlockTagForm, CallNoteForm, PersonSearchForm, ReasonOnlyForm, ResendInviteForm, StartForForm,
)


class PersonExportForm(FlaskForm):
    reason = TextAreaField(_l("The request (when and how it came; not the person's name or address)"), **REASON)


class PersonDeleteForm(FlaskForm):
    reason = TextAreaField(_l("The request (when and how it came; not the person's name or address)"), **REASON)
    confirm_email = StringField(_l("Type the account's e-mail address to confirm"),
                                validators=[InputRequired(), Length(max=254)])


def person_or_404(user_id: int) -> User:
    user = db_session().get(User, user_id)
    if user is None:
        abort(404)
    return user


def _forms(data, forms: dict) -> dict:
    """Every form of the page: the one just sent (with what was typed and its errors), the rest blank."""
    def blank(cls, key: str, **kw):
        return forms.get(key) or cls(prefix=key, formdata=None, **kw)

    start = forms.get("start") or StartForForm(prefix="start", formdata=None)
    start.outlet.choices = outlet_choices(data.chargers)
    call = forms.get("call") or CallNoteForm(prefix="call", formdata=None)
    call.ticket.choices = call_ticket_choices(data.open_tickets)
    return dict(
        start_form=start, call_form=call,
        block_forms={t.id: blank(BlockTagForm, f"block{t.id}") for t in data.tags if not t.blocked},
        unblock_forms={t.id: blank(ReasonOnlyForm, f"unblock{t.id}") for t in data.tags if t.blocked},
        stop_forms={r.tx.id: blank(ReasonOnlyForm, f"stop{r.tx.id}") for r in data.sessions if r.tx.is_active},
        invite_forms={i.id: blank(ResendInviteForm, f"invite{i.id}") for i in data.invites},
        export_form=forms.get("export") or PersonExportForm(formdata=None),
        delete_form=forms.get("delete") or PersonDeleteForm(formdata=None))


def page(user: User, status: int = 200, refusal: str | None = None, **forms):
    """The person's page; `forms` are the forms just sent, by prefix (re-shown with what was typed)."""
    session = db_session()
    data = person_page(session, user, limits())
    preview = erasure.preview(session, user)
    code = refusal or preview.refusal
    return render("staff/person.html", status=status, person=user, data=data, preview=preview, section="people",
                  phone=display_typed(user.phone, region_for(user.language)), ticket_labels=status_labels(),
                  refusal=refusals.text("privacy", code) if code else None, **_forms(data, forms))


@bp.route("/people")
@staff_area("support")
def people():
    """Find a person by name, e-mail, phone number or RFID tag; a part of any of them is enough."""
    form = PersonSearchForm(request.args)
    q = (form.q.data or "").strip()[:100]
    hits = search(db_session(), q) if q and form.validate() else []
    return render("staff/people.html", form=form, hits=hits, q=q, section="people", show_phone=display_typed)


@bp.route("/people/<int:user_id>")
@staff_area("support")
def person(user_id: int):
    return page(person_or_404(user_id))


@bp.route("/people/<int:user_id>/export", methods=["POST"])
@staff_area("support")
def person_export(user_id: int):
    """Download the person's zip to send to them; the request goes in the audit log."""
    user = person_or_404(user_id)
    form = PersonExportForm()
    if not form.validate_on_submit():
        return page(user, status=422, export=form)
    audit.record(db_session(), current_user, None, "user", user.id, "data_exported", area="staff",
                 reason=erasure.Scrubber(user, []).text(form.reason.data))
    db_session().commit()
    security_event("data export of user %s downloaded by staff %s", user.id, current_user.id)
    return export_response(user)


@bp.route("/people/<int:user_id>/delete", methods=["POST"])
@staff_area("support")
def person_delete(user_id: int):
    """Delete the account on the person's request, as they could themselves (billing first)."""
    user = person_or_404(user_id)
    form = PersonDeleteForm()
    valid = form.validate_on_submit()
    if valid and form.confirm_email.data.strip().lower() != user.email.lower():
        form.confirm_email.errors = [_("Type the account's e-mail address exactly as shown above.")]
        valid = False
    if not valid:
        return page(user, status=422, delete=form)
    session = db_session()
    reason = erasure.Scrubber(user, []).text(form.reason.data)
    try:
        result = erasure.delete_account(session, user, operator(), upload_dir=current_app.config.get("UPLOAD_DIR"))
    except erasure.DeletionRefused as exc:
        session.rollback()
        return page(person_or_404(user_id), status=409, refusal=exc.code, delete=form)
    audit.record(session, current_user, None, "user", result.user_id, "account_deleted", area="staff",
                 after={"by": "staff", "documents": [d.number for d in result.documents]}, reason=reason)
    mail = queue_deletion_email(session, result)
    session.commit()
    security_event("account %s deleted by staff %s", result.user_id, current_user.id)
    enqueue_outbox(redis_conn(), [mail.id])
    flash(_("The account is deleted: %(pseudonym)s. A confirmation went to the person's address.",
            pseudonym=result.pseudonym), "success")
    return hx_redirect("staff.people")


def outlet_choices(chargers) -> list[tuple[str, str]]:
    """One choice per outlet of the chargers the person may use: "CP-1:2" reads "CP-1 Garage, outlet 2"."""
    choices = [("", _("Choose a charger"))]
    for cp in chargers:
        for c in cp.outlets:
            label = f"{cp.identity} {cp.name}".strip()
            choices.append((f"{cp.identity}:{c.connector_id}", _("%(charger)s, outlet %(n)s", charger=label,
                                                                   n=c.connector_id)))
    return choices


def call_ticket_choices(open_tickets) -> list[tuple[str, str]]:
    return [("new", _("A new ticket"))] + [(str(t.id), f"{t.reference} {t.subject}"[:80]) for t in open_tickets]
