"""The actions on a person's page: block or unblock a tag, send an invite again, start or stop charging for
them, and note the call as a ticket. Support and admins only; each form keeps what was typed when it is
refused, and each action is in the staff audit log (portal.services.staff.person_actions, helpdesk.calls)."""
from __future__ import annotations

import logging

from flask import abort, flash
from flask_babel import gettext as _
from flask_login import current_user

from portal import refusals
from portal.extensions import db_session, redis_conn
from portal.htmx import hx_redirect
from portal.models import Invite, SupportTicket, Transaction
from portal.services.charging import action_queue, actions, starting
from portal.services.helpdesk import calls
from portal.services.helpdesk.tickets import TicketError
from portal.services.staff import person_actions as acts
from portal.site.people import _queue_invite_mail, _send_outbox
from portal.staff import bp
from portal.staff.common import charger_or_404, staff_area
from portal.staff.people import call_ticket_choices, outlet_choices, page, person_or_404
from portal.staff.person_forms import BlockTagForm, CallNoteForm, ReasonOnlyForm, ResendInviteForm, StartForForm
from portal.services.helpdesk.tickets import user_chargers
from portal.services.staff.person import open_tickets

log = logging.getLogger(__name__)


def _back(user_id: int, anchor: str):
    return hx_redirect("staff.person", user_id=user_id, _anchor=anchor)


def _refused(user, key: str, form, field, code: str, status: int = 422):
    """Show the page again with the form as sent and the refusal under `field`."""
    user_id = user.id
    db_session().rollback()
    field.errors = [*field.errors, refusals.text("person", code)]
    return page(person_or_404(user_id), status=status, **{key: form})


@bp.route("/people/<int:user_id>/tags/<int:tag_id>/block", methods=["POST"])
@staff_area("support")
def person_tag_block(user_id: int, tag_id: int):
    """Block a lost tag; the person reads the chosen plain reason on their tag page."""
    user, key = person_or_404(user_id), f"block{tag_id}"
    form = BlockTagForm(prefix=key)
    if not form.validate_on_submit():
        return page(user, status=422, **{key: form})
    try:
        tag = acts.block_tag(db_session(), current_user, user, tag_id, form.reason.data, form.note.data or "")
    except acts.PersonRefused as exc:
        return _refused(user, key, form, form.reason, exc.code, 404 if exc.code == "not_theirs" else 422)
    db_session().commit()
    flash(_("Tag %(tag)s is blocked: it is refused at every charger.", tag=tag.tag), "success")
    return _back(user_id, "tags")


@bp.route("/people/<int:user_id>/tags/<int:tag_id>/unblock", methods=["POST"])
@staff_area("support")
def person_tag_unblock(user_id: int, tag_id: int):
    user, key = person_or_404(user_id), f"unblock{tag_id}"
    form = ReasonOnlyForm(prefix=key)
    if not form.validate_on_submit():
        return page(user, status=422, **{key: form})
    try:
        tag = acts.unblock_tag(db_session(), current_user, user, tag_id, form.reason.data)
    except acts.PersonRefused as exc:
        return _refused(user, key, form, form.reason, exc.code, 404 if exc.code == "not_theirs" else 422)
    db_session().commit()
    flash(_("Tag %(tag)s works again.", tag=tag.tag), "success")
    return _back(user_id, "tags")


@bp.route("/people/<int:user_id>/invites/<int:invite_id>/resend", methods=["POST"])
@staff_area("support")
def person_invite_resend(user_id: int, invite_id: int):
    """A fresh invite link to the person's address (the old one stops working)."""
    user, key = person_or_404(user_id), f"invite{invite_id}"
    form = ResendInviteForm(prefix=key)
    if not form.validate_on_submit():
        return page(user, status=422, **{key: form})
    session = db_session()
    invite = session.get(Invite, invite_id)
    try:
        token = acts.resend_invite(session, current_user, user, invite, form.reason.data or "")
    except acts.PersonRefused as exc:
        if exc.code == "not_theirs":  # another address's invite: nothing to show it on, say so above the page
            session.rollback()
            flash(refusals.text("person", exc.code), "error")
            return _back(user_id, "access")
        return _refused(user, key, form, form.reason, exc.code)
    ids = [_queue_invite_mail(invite.site, invite, token)]
    session.commit()
    _send_outbox(ids)
    flash(_("The invite to %(email)s was sent again.", email=invite.email), "success")
    return _back(user_id, "access")


@bp.route("/people/<int:user_id>/start", methods=["POST"])
@staff_area("support")
def person_start(user_id: int):
    """Start charging for the person at one of the outlets they may use, decided as their own tap."""
    user = person_or_404(user_id)
    form = StartForForm(prefix="start")
    form.outlet.choices = outlet_choices(user_chargers(db_session(), user))
    if not form.validate_on_submit() or not form.outlet.data:
        if not form.outlet.data and not form.outlet.errors:
            form.outlet.errors = [_("Choose a charger.")]
        return page(user, status=422, start=form)
    identity, _sep, connector = form.outlet.data.rpartition(":")
    cp = charger_or_404(identity)
    session = db_session()
    try:
        row = acts.start_for(session, current_user, user, cp, int(connector), form.reason.data)
    except acts.PersonRefused as exc:
        return _refused(user, "start", form, form.outlet, exc.code)
    session.commit()
    if not starting.enqueue_start(redis_conn(), row.id):
        flash(_("The request is saved but could not be handed to the worker yet. Try again in a moment."), "error")
    return hx_redirect("staff.action_request", action_id=row.id)


@bp.route("/people/<int:user_id>/sessions/<int:tx_id>/stop", methods=["POST"])
@staff_area("support")
def person_stop(user_id: int, tx_id: int):
    """Ask the charger to stop the person's running session."""
    user, key = person_or_404(user_id), f"stop{tx_id}"
    form = ReasonOnlyForm(prefix=key)
    if not form.validate_on_submit():
        return page(user, status=422, **{key: form})
    session = db_session()
    try:
        row = acts.stop_for(session, current_user, user, session.get(Transaction, tx_id), form.reason.data)
    except acts.PersonRefused as exc:
        if exc.code == "not_theirs":
            abort(404)
        return _refused(user, key, form, form.reason, exc.code)
    session.commit()
    try:
        action_queue.enqueue_action(redis_conn(), row.id)
    except actions.QueueUnavailable:
        flash(_("The request is saved but could not be handed to the worker yet. Try again in a moment."), "error")
    return hx_redirect("staff.action_request", action_id=row.id)


@bp.route("/people/<int:user_id>/calls", methods=["POST"])
@staff_area("support")
def person_call(user_id: int):
    """Note the call: a new ticket of the person's, or a note on one of their open tickets."""
    user = person_or_404(user_id)
    form = CallNoteForm(prefix="call")
    form.ticket.choices = call_ticket_choices(open_tickets(db_session(), user))
    if not form.validate_on_submit():
        return page(user, status=422, call=form)
    session = db_session()
    ticket = session.get(SupportTicket, int(form.ticket.data)) if form.ticket.data.isdigit() else None
    try:
        ticket = calls.note_call(session, current_user, user, category=form.category.data,
                                 outcome=form.outcome.data, note=form.note.data, ticket=ticket)
    except TicketError as exc:
        session.rollback()
        form.note.errors = [refusals.text("ticket", exc.code)]
        return page(person_or_404(user_id), status=422, call=form)
    session.commit()
    flash(_("The call is noted on ticket %(ref)s.", ref=ticket.reference), "success")
    return _back(user_id, "tickets")
