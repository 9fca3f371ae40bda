"""Support's ticket queue: search and filter, the ticket page, answers (e-mailed in the requester's
language, with a photo, from a saved reply) and internal notes. Status, assignment and merging are in
portal/staff/ticket_actions.py, saved replies' own pages in portal/staff/saved_replies.py."""
from __future__ import annotations

from flask import abort, current_app, flash, request
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_login import current_user

from portal import refusals
from portal.db import utcnow
from portal.extensions import db_session, redis_conn
from portal.help.photos import read_photo
from portal.htmx import hx_redirect, render
from portal.labels import TICKET_CATEGORY_LABELS as CATEGORY_LABELS
from portal.models import SupportTicket
from portal.models.support import TICKET_CATEGORIES
from portal.services.helpdesk import saved_replies, tickets
from portal.services.helpdesk.assignee import seen_by
from portal.services.helpdesk.photos import store_photo
from portal.services.helpdesk.targets import clock
from portal.services.people.mail import enqueue_outbox
from portal.services.sites import audit
from portal.services.staff import queue
from portal.staff import bp
from portal.staff.common import all_sites, site_by_slug, staff_area
from portal.staff.forms import AssignForm, TicketStatusForm
from portal.staff.ticket_forms import ROUTE_LABELS, MergeForm, NoteForm, QueueForm, StaffReplyForm

UPLOAD_ENDPOINTS = {"staff.ticket_reply", "staff.ticket_insert_reply"}
UPLOAD_REQUEST_MAX = 12 * 1024 * 1024  # as on the requester's side: a phone photo is often 3-8 MB


@bp.url_value_preprocessor
def _allow_photo_uploads(endpoint, _values) -> None:
    if endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = UPLOAD_REQUEST_MAX


def status_labels() -> dict[str, str]:
    return {"new": _("New"), "open": _("Open"), "waiting_for_customer": _("Waiting for the customer"),
            "resolved": _("Resolved"), "closed": _("Closed")}


def _filter_form() -> QueueForm:
    form = QueueForm(request.args)
    form.category.choices = [("", _("All"))] + [(c, str(CATEGORY_LABELS.get(c, c))) for c in TICKET_CATEGORIES]
    form.site.choices = [("", _("All sites"))] + [(s.slug, s.name) for s in all_sites()]
    form.assignee.choices = [("", _("Anyone")), ("me", _("Me")), ("none", _("Nobody"))] + [
        (str(u.id), u.email) for u in queue.support_staff(db_session())]
    if "status" not in request.args:
        form.status.data = "active"
    return form


@bp.route("/tickets")
@staff_area("support")
def tickets_queue():
    form = _filter_form()
    site = site_by_slug(form.site.data)
    flt = queue.QueueFilter(status=form.status.data or "", category=form.category.data or "",
                            site_id=site.id if site else (-1 if form.site.data else None),
                            assignee=form.assignee.data or "", route=form.route.data or "",
                            search=(form.q.data or "") if form.validate() else "")
    rows = queue.queue_rows(db_session(), flt, current_user)
    return render("staff/tickets.html", block="queue", form=form, rows=rows, labels=status_labels(),
                  categories=CATEGORY_LABELS, routes=ROUTE_LABELS, span=_span, section="tickets")


def _span(delta) -> str:
    """A duration in words in the reader's language ("3 hours")."""
    return format_timedelta(delta, threshold=1.1) if delta is not None else "–"


def _ticket(ticket_id: int) -> SupportTicket:
    ticket = db_session().get(SupportTicket, ticket_id)
    if ticket is None:
        abort(404)
    return ticket


def _reply_form(ticket: SupportTicket, form: StaffReplyForm | None = None) -> StaffReplyForm:
    form = form or StaffReplyForm(prefix="reply", formdata=None)
    form.saved.choices = [("", _("Choose a saved reply"))] + [
        (str(r.id), r.title) for r in saved_replies.replies(db_session(), ticket.language)]
    return form


def ticket_page(ticket: SupportTicket, reply: StaffReplyForm | None = None, note: NoteForm | None = None,
                merge: MergeForm | None = None, status: int = 200):
    """The ticket as support works on it (also re-rendered with a form's errors, what was typed kept)."""
    assign = AssignForm()
    assign.assignee.choices = [("", _("Nobody"))] + [(str(u.id), u.email) for u in queue.support_staff(db_session())]
    assign.assignee.data = str(ticket.assignee_id or "")
    state = TicketStatusForm()
    state.status.data = ticket.status if ticket.status != "new" else "open"
    return render("staff/ticket.html", ticket=ticket, context=queue.requester_context(db_session(), ticket),
                  messages=tickets.visible_messages(ticket, staff_view=True), clock=clock(ticket, utcnow()),
                  reply=_reply_form(ticket, reply), note=note or NoteForm(prefix="note", formdata=None),
                  merge=merge or MergeForm(prefix="merge", formdata=None), assign=assign, state=state,
                  labels=status_labels(), categories=CATEGORY_LABELS, routes=ROUTE_LABELS, section="tickets",
                  status=status)


@bp.route("/tickets/<int:ticket_id>")
@staff_area("support")
def ticket(ticket_id: int):
    t = _ticket(ticket_id)
    if seen_by(t, current_user):
        db_session().commit()
    return ticket_page(t)


def record(ticket: SupportTicket, action: str, after: dict | None = None, reason: str | None = None) -> None:
    audit.record(db_session(), current_user, ticket.site_id, "ticket", ticket.id, action, after=after,
                 area="staff", reason=reason)


@bp.route("/tickets/<int:ticket_id>/reply/insert", methods=["POST"])
@staff_area("support")
def ticket_insert_reply(ticket_id: int):
    """Put the chosen saved reply, filled in for this ticket, after what is already typed in the box."""
    t = _ticket(ticket_id)
    form = _reply_form(t, StaffReplyForm(prefix="reply"))
    form.validate_on_submit()  # for the CSRF check; an empty box is fine here
    if form.csrf_token.errors:
        abort(400)
    form.body.errors = []
    chosen = next((r for r in saved_replies.replies(db_session(), t.language) if str(r.id) == form.saved.data), None)
    if chosen is None:
        form.saved.errors = [_("Choose a saved reply in the ticket's language.")]
    else:
        typed = (form.body.data or "").rstrip()
        form.body.data = (typed + "\n\n" if typed else "") + saved_replies.fill(chosen.body, t)
    return ticket_page(t, reply=form)


@bp.route("/tickets/<int:ticket_id>/reply", methods=["POST"])
@staff_area("support")
def ticket_reply(ticket_id: int):
    """An answer the requester sees in their thread and gets by e-mail in their own language."""
    t = _ticket(ticket_id)
    form = _reply_form(t, StaffReplyForm(prefix="reply"))
    session = db_session()
    if form.validate_on_submit():
        photo = read_photo(form.photo)
        if isinstance(photo, str):
            form.photo.errors = [refusals.text("photo", photo)]
            return ticket_page(t, reply=form, status=422)
        try:
            message, outbox = tickets.add_staff_reply(session, t, current_user, form.body.data)
        except tickets.TicketError as exc:
            session.rollback()
            form.body.errors = [refusals.text("ticket", exc.code)]
        else:
            stored = store_photo(session, t, photo, current_app.config["UPLOAD_DIR"], current_user,
                                 message.id) if photo is not None else None
            record(t, "reply", {"message": message.id, "emailed_to": t.requester_email, "language": t.language,
                                "photo": stored.id if stored else None})
            session.commit()
            enqueue_outbox(redis_conn(), [outbox.id] if outbox else [])
            flash(_("Your answer is sent to %(email)s.", email=t.requester_email), "info")
            return hx_redirect("staff.ticket", ticket_id=t.id)
    return ticket_page(_ticket(ticket_id), reply=form, status=422)


@bp.route("/tickets/<int:ticket_id>/note", methods=["POST"])
@staff_area("support")
def ticket_note(ticket_id: int):
    """A note for colleagues only: never in the requester's thread, never e-mailed."""
    t = _ticket(ticket_id)
    form = NoteForm(prefix="note")
    session = db_session()
    if form.validate_on_submit():
        try:
            message = tickets.add_internal_note(session, t, current_user, form.body.data)
        except tickets.TicketError as exc:
            session.rollback()
            form.body.errors = [refusals.text("ticket", exc.code)]
        else:
            record(t, "internal_note", {"message": message.id})
            session.commit()
            return hx_redirect("staff.ticket", ticket_id=t.id)
    return ticket_page(_ticket(ticket_id), note=form, status=422)


from portal.staff import saved_replies as _saved_pages, ticket_actions  # noqa: E402,F401  (register views)
