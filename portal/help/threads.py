"""Ticket threads: "my tickets" for signed-in users, the private link for visitors, replies and photos.

Access: a signed-in requester sees their own tickets, support staff and operator admins any ticket;
a visitor sees exactly the one ticket whose private link they hold. Anything else is a 404, so
nobody can learn which ticket numbers exist. Internal notes are never shown here.
"""
from __future__ import annotations

from flask import abort, current_app, flash, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal import refusals
from portal.auth.limits import limiter
from portal.extensions import db_session, redis_conn
from portal.help import bp
from portal.help.forms import CATEGORY_LABELS, ROUTE_LABELS, ReplyForm
from portal.help.photos import read_photo, send_photo
from portal.htmx import redirect_to, render
from portal.models import SupportTicket, TicketPhoto
from portal.services.helpdesk import tickets
from portal.services.helpdesk.assignee import queue_assignee_email
from portal.services.helpdesk.photos import store_photo
from portal.services.helpdesk.tokens import private_link_used
from portal.services.people.mail import enqueue_outbox

REPLY_LIMIT = "30 per hour"  # per address: a conversation, not a flood


def _status_label(status: str) -> str:
    labels = {"new": _("Received"), "open": _("Being handled"), "waiting_for_customer": _("Waiting for your answer"),
              "resolved": _("Solved"), "closed": _("Closed")}
    return labels.get(status, status)


@bp.route("/support/tickets")
@login_required
def my_tickets():
    return render("help/my_tickets.html", tickets=tickets.tickets_of(db_session(), current_user),
                  status_label=_status_label, category_labels=CATEGORY_LABELS)


def _own_ticket(ticket_id: int) -> SupportTicket:
    ticket = db_session().get(SupportTicket, ticket_id)
    if ticket is None or not tickets.can_view(current_user, ticket):
        abort(404)
    return ticket


def _token_ticket(token: str) -> SupportTicket:
    """The ticket of a live private link (404 for no such link; LinkExpired, a 410 page, when unused too long)."""
    ticket = tickets.ticket_by_token(db_session(), token)
    if ticket is None:
        abort(404)
    private_link_used(ticket)
    return ticket


def _thread(ticket: SupportTicket, form: ReplyForm, reply_url: str, photo_endpoint: str, photo_args: dict,
            status: int = 200):
    merged = db_session().get(SupportTicket, ticket.merged_into_id) if ticket.merged_into_id else None
    merged_url = url_for("help.ticket", ticket_id=merged.id) if merged and tickets.can_view(current_user, merged) \
        else None
    return render("help/ticket.html", block="thread", status=status, ticket=ticket, form=form, merged_url=merged_url,
                  messages=tickets.visible_messages(ticket, staff_view=False), reply_url=reply_url,
                  photo_endpoint=photo_endpoint, photo_args=photo_args, status_label=_status_label,
                  category_labels=CATEGORY_LABELS, route_labels=ROUTE_LABELS)


@bp.route("/support/tickets/<int:ticket_id>")
@login_required
def ticket(ticket_id: int):
    t = _own_ticket(ticket_id)
    return _thread(t, ReplyForm(), url_for("help.ticket_reply", ticket_id=t.id), "help.ticket_photo",
                   {"ticket_id": t.id})


@bp.route("/support/tickets/<int:ticket_id>/reply", methods=["POST"])
@login_required
@limiter.limit(REPLY_LIMIT)
def ticket_reply(ticket_id: int):
    t = _own_ticket(ticket_id)
    if current_user.id != t.requester_id:
        abort(404)  # staff answer from the staff console, where the reply reaches the requester by e-mail
    form = ReplyForm()
    target = url_for("help.ticket", ticket_id=t.id)
    problem = _reply(t, form)
    if problem:
        return _thread(t, form, url_for("help.ticket_reply", ticket_id=t.id), "help.ticket_photo",
                       {"ticket_id": t.id}, status=422)
    return redirect_to(target)


@bp.route("/support/tickets/<int:ticket_id>/photos/<int:photo_id>")
@login_required
def ticket_photo(ticket_id: int, photo_id: int):
    t = _own_ticket(ticket_id)
    return send_photo(_photo_of(t, photo_id))


@bp.route("/support/t/<token>")
def token_thread(token: str):
    t = _token_ticket(token)
    return _thread(t, ReplyForm(), url_for("help.token_reply", token=token), "help.token_photo", {"token": token})


@bp.route("/support/t/<token>/reply", methods=["POST"])
@limiter.limit(REPLY_LIMIT)
def token_reply(token: str):
    t = _token_ticket(token)
    form = ReplyForm()
    if _reply(t, form):
        return _thread(t, form, url_for("help.token_reply", token=token), "help.token_photo", {"token": token},
                       status=422)
    return redirect_to(url_for("help.token_thread", token=token))


@bp.route("/support/t/<token>/photos/<int:photo_id>")
def token_photo(token: str, photo_id: int):
    return send_photo(_photo_of(_token_ticket(token), photo_id))


def _photo_of(t: SupportTicket, photo_id: int) -> TicketPhoto:
    photo = db_session().get(TicketPhoto, photo_id)
    if photo is None or photo.ticket_id != t.id:
        abort(404)
    return photo


def _reply(t: SupportTicket, form: ReplyForm) -> bool:
    """Store the requester's reply (and photo); True when the form has a problem to show."""
    if t.status == "closed":
        form.body.errors = [_("This request is closed. Open a new one if you still need help.")]
        return True
    if not form.validate_on_submit():
        return True
    photo = read_photo(form.photo)
    if isinstance(photo, str):
        form.photo.errors = [refusals.text("photo", photo)]
        return True
    session = db_session()
    user = current_user if current_user.is_authenticated else None
    message = tickets.add_requester_reply(session, t, form.body.data, user)
    if photo is not None:
        store_photo(session, t, photo, current_app.config["UPLOAD_DIR"], user, message.id)
    mail = queue_assignee_email(session, t, message)
    session.commit()
    if mail is not None:
        enqueue_outbox(redis_conn(), [mail.id])  # Redis down: the row stays queued and is sent later
    flash(_("Your reply has been sent."), "success")
    return False
