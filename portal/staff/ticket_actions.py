"""Changing a ticket as a whole: status, assignment ("Take it" is a claim: of two colleagues at once, one
gets it) and merging a duplicate into another ticket."""
from __future__ import annotations

from flask import abort, flash
from flask_babel import gettext as _
from flask_login import current_user

from portal import refusals
from portal.extensions import db_session, redis_conn
from portal.htmx import hx_redirect
from portal.models import SupportTicket, User
from portal.services.helpdesk import merge as merging
from portal.services.helpdesk import tickets
from portal.services.people.mail import enqueue_outbox
from portal.staff import bp
from portal.staff.common import staff_area
from portal.staff.forms import AssignForm, TicketStatusForm
from portal.staff.ticket_forms import MergeForm
from portal.staff.tickets import _ticket, record, ticket_page


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
            record(t, "status", {"from": before, "to": t.status}, form.reason.data or None)
            session.commit()
    else:
        flash(_("Choose one of the options."), "error")
    return hx_redirect("staff.ticket", ticket_id=t.id)


def _assignee(choice: str) -> User | None:
    if choice == "me":
        return current_user
    if choice == "":
        return None
    who = db_session().get(User, int(choice)) if choice.isdigit() else None
    if who is None:
        abort(404)
    return who


@bp.route("/tickets/<int:ticket_id>/assign", methods=["POST"])
@staff_area("support")
def ticket_assign(ticket_id: int):
    """Take the ticket (assignee "me": only when nobody else has it), give it to a colleague, or to nobody."""
    t = _ticket(ticket_id)
    form = AssignForm()
    session = db_session()
    choice = form.assignee.data if form.validate_on_submit() else None
    if choice is None:
        flash(_("Choose one of the options."), "error")
        return hx_redirect("staff.ticket", ticket_id=t.id)
    who = _assignee(choice)
    try:
        if choice == "me":
            tickets.take(session, t, current_user)
        else:
            tickets.assign(session, t, who, current_user)
    except tickets.TicketError as exc:
        session.rollback()
        flash(refusals.text("ticket", exc.code), "error")
    else:
        if t.status == "new" and who is not None:
            tickets.change_status(session, t, "open", current_user)
        record(t, "assign", {"assignee": who.email if who else None})
        session.commit()
    return hx_redirect("staff.ticket", ticket_id=t.id)


@bp.route("/tickets/<int:ticket_id>/merge", methods=["POST"])
@staff_area("support")
def ticket_merge(ticket_id: int):
    """Close this ticket as a duplicate of another; the requester is told in their language."""
    t = _ticket(ticket_id)
    form = MergeForm(prefix="merge")
    session = db_session()
    if not form.validate_on_submit():
        return ticket_page(t, merge=form, status=422)
    target = session.get(SupportTicket, int(form.into.data.lstrip("#")))
    if target is None:
        form.into.errors = [refusals.text("ticket", "merge_unknown")]
        return ticket_page(t, merge=form, status=422)
    try:
        done = merging.merge(session, t, target, current_user)
    except tickets.TicketError as exc:
        session.rollback()
        form.into.errors = [refusals.text("ticket", exc.code)]
        return ticket_page(_ticket(ticket_id), merge=form, status=422)
    record(t, "merge", {"into": target.id, "moved": done.moved})
    session.commit()
    enqueue_outbox(redis_conn(), [done.outbox.id] if done.outbox else [])
    flash(_("%(ref)s is merged into %(target)s.", ref=t.reference, target=target.reference), "info")
    return hx_redirect("staff.ticket", ticket_id=target.id)
