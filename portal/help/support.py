"""The support page: hours and phone, the guide, and the ticket form (signed in or visitor)."""
from __future__ import annotations

from flask import current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import SelectChoice

from portal import refusals
from portal.auth.limits import address_key, hit, limiter
from portal.extensions import db_session, redis_conn
from portal.help import bp
from portal.help.forms import CATEGORY_LABELS, OTHER_CHARGER, ROUTE_LABELS, TicketForm
from portal.help.guide import guide_context
from portal.help.photos import read_photo
from portal.forms_common import e164
from portal.htmx import redirect_to, render
from portal.models import ChargePoint
from portal.models.support import TICKET_ROUTES
from portal.refusals import start_refusal
from portal.services.helpdesk import tickets
from portal.services.people.mail import enqueue_outbox, portal_url
from portal.services.helpdesk.photos import store_photo
from portal.web import current_language

TICKET_LIMIT = "5 per hour; 20 per day"  # per client address: enough for a building sharing one, not a flood
# Confirmations to one typed-in e-mail address (visitors): the form must not mail-bomb a stranger. Past
# it the ticket still reaches support and the visitor still lands on its private page.
VISITOR_MAILS_PER_ADDRESS = "3 per hour; 10 per day"
# Refusal codes of the start screen (portal.refusals.START) -> the ticket category they belong to.
REASON_CATEGORY = {"offline": "charger_fault", "faulted": "charger_fault", "unavailable": "charger_fault",
                   "blocked_tag": "account", "unknown_tag": "account", "failed": "start_stop",
                   "timed_out": "start_stop"}


def _signed_in() -> bool:
    return bool(current_user and current_user.is_authenticated)


def _new_form() -> TicketForm:
    form = TicketForm()
    if _signed_in():
        form.set_chargers(tickets.user_chargers(db_session(), current_user))
    else:
        form.charger.choices = [SelectChoice("", "")]
    return form


def _prefill(form: TicketForm) -> None:
    """From a refusal on the start screen (?charger=&reason=) or an outcome of the guide (?category=&route=)."""
    args = request.args
    identity, reason = args.get("charger", "")[:64], args.get("reason", "")[:40]
    category = REASON_CATEGORY.get(reason) or args.get("category", "")
    if category in CATEGORY_LABELS:
        form.category.data = category
    if args.get("route") in TICKET_ROUTES:
        form.route.data = args["route"]
    if identity:
        if any(choice.value == identity for choice in form.charger.choices):
            form.charger.data = identity
        else:
            form.charger.data = OTHER_CHARGER if _signed_in() else ""
            form.charger_identity.data = identity
    if reason:
        message = start_refusal(reason)[0] if reason not in ("failed", "timed_out") else _(
            "My start request did not reach the charger.")
        form.description.data = _("The start screen of charger %(identity)s said: %(message)s",
                                  identity=identity or "?", message=message) + "\n\n"


def _page(form: TicketForm, status: int = 200, rate_limited: bool = False):
    return render("help/support.html", block="ticket_form", status=status, form=form, rate_limited=rate_limited,
                  phone=current_app.config["SUPPORT_PHONE"], route_labels=ROUTE_LABELS,
                  **guide_context(request.args))


def _too_many(_limit):
    """Over the limit: the form again with what was typed and why it was not sent (429)."""
    return _page(_new_form(), 429, rate_limited=True)


@bp.route("/support", methods=["GET", "POST"])
@limiter.limit(TICKET_LIMIT, methods=["POST"], on_breach=_too_many)
def support():
    form = _new_form()
    if request.method == "GET":
        form.route.data = "operator"
        _prefill(form)
        return _page(form)
    valid = form.validate_on_submit()
    if not _signed_in() and not form.email.errors and not (form.email.data or "").strip():
        form.email.errors = [_("Enter your e-mail address, so we can answer you.")]
        valid = False
    charge_point, typed = _charger_of(form)
    photo = read_photo(form.photo) if valid else None
    if isinstance(photo, str):
        form.photo.errors = [refusals.text("photo", photo)]
        valid = False
    if not valid:
        return _page(form, 422)
    return _open(form, charge_point, typed, photo)


def _charger_of(form: TicketForm) -> tuple[ChargePoint | None, str]:
    """The charger picked from one's own list, or the one typed (linked when it exists)."""
    session = db_session()
    if _signed_in() and form.charger.data and form.charger.data != OTHER_CHARGER:
        mine = {cp.identity: cp for cp in tickets.user_chargers(session, current_user)}
        return mine.get(form.charger.data), form.charger.data
    typed = (form.charger_identity.data or "").strip()
    if not typed:
        return None, ""
    found = session.scalar(select(ChargePoint).where(func.lower(ChargePoint.identity) == typed.lower()))
    return found, typed


def _open(form: TicketForm, charge_point: ChargePoint | None, typed: str, photo):
    session = db_session()
    user = current_user if _signed_in() else None
    opened = tickets.open_ticket(
        session, category=form.category.data, description=form.description.data, language=current_language(),
        requester=user, email=form.email.data or "", name=form.name.data or "", phone=e164(form.phone),
        charge_point=charge_point, charger_identity=typed,
        route=form.route.data if form.route.data in TICKET_ROUTES else "operator")
    ticket = opened.ticket
    if photo is not None:
        store_photo(session, ticket, photo, current_app.config["UPLOAD_DIR"], user, ticket.messages[0].id)
    thread = (portal_url("help.ticket", ticket_id=ticket.id) if user
              else portal_url("help.token_thread", token=opened.token))
    mail = None
    if user or hit(VISITOR_MAILS_PER_ADDRESS, "ticket-mails", address_key(ticket.requester_email)):
        mail = tickets.queue_confirmation_email(session, ticket, thread)
    session.commit()
    if mail is not None:
        enqueue_outbox(redis_conn(), [mail.id])  # Redis down: the row stays queued and is sent later
    flash(_("Thank you. We have your request as number %(ref)s and will answer as soon as we can.",
            ref=ticket.reference), "success")
    if user:
        return redirect_to(url_for("help.ticket", ticket_id=ticket.id))
    return redirect_to(url_for("help.token_thread", token=opened.token))
