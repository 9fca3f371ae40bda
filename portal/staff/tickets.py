"""Support's ticket queue: filter, take, reply (e-mailed in the requester's language), note, status."""
from __future__ import annotations

from flask import abort, flash, request
from flask_babel import gettext as _
from flask_login import current_user

from portal import refusals
from portal.extensions import db_session, redis_conn
from portal.htmx import hx_redirect, render
from portal.labels import TICKET_CATEGORY_LABELS as CATEGORY_LABELS
from portal.models import SupportTicket
from portal.models.support import TICKET_CATEGORIES
from portal.services.helpdesk import tickets
from portal.services.sites import audit
from portal.services.people.mail import enqueue_outbox
from portal.services.staff import queue
from portal.staff import bp
from portal.staff.common import all_sites, site_by_slug, staff_area
from portal.staff.forms import AssignForm, MessageForm, TicketFilterForm, TicketStatusForm

def status_labels() -> dict[str, str]:
    return {"new": _("New"), "open": _("Open"), "waiting_for_customer": _("Waiting for the customer"),
            "resolved": _("Resolved"), "closed": _("Closed")}


def _filter_form() -> TicketFilterForm:
    form = TicketFilterForm(request.args)
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
                            assignee=form.assignee.data or "")
    rows = queue.ticket_queue(db_session(), flt, current_user)
    return render("staff/tickets.html", block="queue", form=form, rows=rows, labels=status_labels(),
                  categories=CATEGORY_LABELS, section="tickets")


def _ticket(ticket_id: int) -> SupportTicket:
    ticket = db_session().get(SupportTicket, ticket_id)
    if ticket is None:
        abort(404)
    return ticket


def _page(ticket: SupportTicket, reply: MessageForm | None = None, note: MessageForm | None = None,
          status: int = 200):
    assign = AssignForm()
    assign.assignee.choices = [("", _("Nobody"))] + [(str(u.id), u.email) for u in queue.support_staff(db_session())]
    assign.assignee.data = str(ticket.assignee_id or "")
    state = TicketStatusForm()
    state.status.data = ticket.status if ticket.status != "new" else "open"
    return render("staff/ticket.html", ticket=ticket, context=queue.requester_context(db_session(), ticket),
                  messages=tickets.visible_messages(ticket, staff_view=True),
                  reply=reply or MessageForm(prefix="reply"),
                  note=note or MessageForm(prefix="note"), assign=assign, state=state, labels=status_labels(),
                  categories=CATEGORY_LABELS, section="tickets", status=status)


@bp.route("/tickets/<int:ticket_id>")
@staff_area("support")
def ticket(ticket_id: int):
    return _page(_ticket(ticket_id))


def _audit(ticket: SupportTicket, action: str, after: dict | None = None, reason: str | None = None) -> None:
    audit.record(db_session(), current_user, ticket.site_id, "ticket", ticket.id, action, after=after,
                 area="staff", reason=reason)


@bp.route("/tickets/<int:ticket_id>/reply", methods=["POST"])
@staff_area("support")
def ticket_reply(ticket_id: int):
    """An answer the requester sees in their thread and gets by e-mail in their own language."""
    t = _ticket(ticket_id)
    form = MessageForm(prefix="reply")
    session = db_session()
    if form.validate_on_submit():
        try:
            message, outbox = tickets.add_staff_reply(session, t, current_user, form.body.data)
        except tickets.TicketError as exc:
            session.rollback()
            form.body.errors = [refusals.text("ticket", exc.code)]
        else:
            _audit(t, "reply", {"message": message.id, "emailed_to": t.requester_email, "language": t.language})
            session.commit()
            enqueue_outbox(redis_conn(), [outbox.id] if outbox else [])
            flash(_("Your answer is sent to %(email)s.", email=t.requester_email), "info")
            return hx_redirect("staff.ticket", ticket_id=t.id)
    return _page(_ticket(ticket_id), reply=form, status=422)


@bp.route("/tickets/<int:ticket_id>/note", methods=["POST"])
@staff_area("support")
def ticket_note(ticket_id: int):
    """A note for colleagues only: never in the requester's thread, never e-mailed."""
    t = _ticket(ticket_id)
    form = MessageForm(prefix="note")
    session = db_session()
    if form.validate_on_submit():
        try:
            message = tickets.add_internal_note(session, t, current_user, form.body.data)
        except tickets.TicketError as exc:
            session.rollback()
            form.body.errors = [refusals.text("ticket", exc.code)]
        else:
            _audit(t, "internal_note", {"message": message.id})
            session.commit()
            return hx_redirect("staff.ticket", ticket_id=t.id)
    return _page(_ticket(ticket_id), note=form, status=422)


@bp.route("/tickets/<int:ticket_id>/status", methods=["POST"])
@staff_area("support")
def ticket_status(ticket_id: int):
    t = _ticket(ticket_id)
    form = TicketStatusForm()
    session = db_session()
    if form.validate_on_submit():
        before = t.status
        try:
            tickets.change_status(session, t, form.status.data, current_user)
        except tickets.TicketError:
            session.rollback()
            flash(_("A closed ticket stays closed."), "error")
        else:
            _audit(t, "status", {"from": before, "to": t.status}, form.reason.data or None)
            session.commit()
    else:
        flash(_("Choose one of the options."), "error")
    return hx_redirect("staff.ticket", ticket_id=t.id)


@bp.route("/tickets/<int:ticket_id>/assign", methods=["POST"])
@staff_area("support")
def ticket_assign(ticket_id: int):
    """Take the ticket (assignee "me"), give it to a colleague, or to nobody."""
    t = _ticket(ticket_id)
    form = AssignForm()
    session = db_session()
    choice = form.assignee.data if form.validate_on_submit() else None
    if choice is None:
        flash(_("Choose one of the options."), "error")
        return hx_redirect("staff.ticket", ticket_id=t.id)
    from portal.models import User

    who = current_user if choice == "me" else (session.get(User, int(choice)) if choice.isdigit() else None)
    if choice not in ("", "me") and who is None:
        abort(404)
    try:
        tickets.assign(session, t, who, current_user)
    except tickets.TicketError:
        session.rollback()
        flash(_("Only support staff can take a ticket."), "error")
    else:
        if t.status == "new" and who is not None:
            tickets.change_status(session, t, "open", current_user)
        _audit(t, "assign", {"assignee": who.email if who else None})
        session.commit()
    return hx_redirect("staff.ticket", ticket_id=t.id)
