"""The ticket an incident opens (category charger_fault) and what it says when the incident is over.

The story is written in the site's language: when the fault began, what the charger said (the error
code in plain words), the last lines of the message log, and the residents who tried to charge. Needs an
app context for the translations (the worker's mail app, or the web app).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from portal import settings
from portal.models import ActionRequest, ChargePoint, Incident, OcppMessage, SupportTicket, TicketMessage, Transaction, User
from portal.services.faults.words import cause_words, error_words
from portal.services.helpdesk import tickets

LOG_LINES = 20


def language_of(incident: Incident) -> str:
    return "sv" if incident.site is not None and incident.site.country == "SE" else "nb"


def log_lines(session: Session, identities: list[str], limit: int = LOG_LINES) -> list[str]:
    rows = session.scalars(select(OcppMessage).where(OcppMessage.identity.in_(identities))
                           .order_by(OcppMessage.id.desc()).limit(limit)).all()
    return [f"{m.created_at:%Y-%m-%d %H:%M:%S} {m.identity} {m.direction} {m.action or ''} {m.frame[:300]}"
            for m in reversed(rows)]


def tried_to_charge(session: Session, cp_ids: list[int], since: datetime) -> list[User]:
    """Residents who asked to start or started a session on the chargers since the fault began (less an hour)."""
    since = since - timedelta(hours=1)
    asked = select(ActionRequest.requested_by_id).where(
        ActionRequest.charge_point_id.in_(cp_ids), ActionRequest.action == "RemoteStartTransaction",
        ActionRequest.created_at >= since)
    started = select(Transaction.user_id).where(Transaction.charge_point_id.in_(cp_ids), Transaction.started_at >= since)
    return list(session.scalars(select(User).where(or_(User.id.in_(asked), User.id.in_(started))).order_by(User.id)))


def _chargers(incident: Incident) -> list[ChargePoint]:
    if incident.charge_point is not None:
        return [incident.charge_point]
    return list(incident.site.charge_points)


def _what(incident: Incident) -> list[str]:
    lines = [_("Cause: %(cause)s", cause=cause_words(incident.cause))]
    if incident.error_code and incident.error_code != "NoError":
        lines.append(_("The charger said: %(code)s (%(words)s)", code=incident.error_code,
                       words=error_words(incident.error_code)))
    if incident.vendor_error_code or (incident.info and incident.scope != "site"):
        lines.append(_("Vendor code: %(code)s; information: %(info)s", code=incident.vendor_error_code or "–",
                       info=incident.info or "–"))
    if incident.cause == "site_dark":
        lines.append(_("Likely cause: the power or the network at the site (every charger at once, nothing "
                       "else wrong before).") if incident.info == "all_at_once" else
                     _("Likely cause: not clear (the chargers did not go offline all at once, or faults came first)."))
    return lines


def story(session: Session, incident: Incident) -> str:
    cps = _chargers(incident)
    where = ", ".join(cp.identity for cp in cps)
    if incident.connector_id:
        where += " " + _("outlet %(n)s", n=incident.connector_id)
    parts = [_("Found by the portal's fault rules at %(site)s: %(where)s.", site=incident.site.name, where=where),
             _("Since: %(when)s", when=format_datetime(incident.started_at, "medium")), *_what(incident), ""]
    people = tried_to_charge(session, [cp.id for cp in cps], incident.started_at)
    parts.append(_("Residents who tried to charge:") + " " + (", ".join(
        f"{u.name or u.email} <{u.email}>" for u in people) or _("none known")))
    parts += ["", _("The last lines of the message log:"), *(log_lines(session, [cp.identity for cp in cps]) or ["–"])]
    return "\n".join(parts)


def open_ticket(session: Session, incident: Incident) -> SupportTicket:
    """The incident's ticket (charger_fault), written by the system in the site's language."""
    language = language_of(incident)
    with force_locale(language):
        subject = f"{cause_words(incident.cause)}: " + (
            incident.charge_point.identity if incident.charge_point else incident.site.name)
        body = story(session, incident)
    opened = tickets.open_ticket(session, category="charger_fault", description=body, language=language,
                                 requester=None, email=settings.get("support_email"), name="Ladeportalen",
                                 charge_point=incident.charge_point, subject=subject)
    ticket = opened.ticket
    ticket.site_id = incident.site_id
    for message in ticket.messages:
        message.author_role = "system"
    incident.ticket_id = ticket.id
    session.flush()
    return ticket


def system_message(session: Session, ticket: SupportTicket, body: str, internal: bool = False) -> None:
    session.add(TicketMessage(ticket_id=ticket.id, author_role="system", body=body[:tickets.BODY_MAX], internal=internal))


def resolved(session: Session, incident: Incident, now: datetime) -> None:
    """The charger shows the fault cleared: the ticket says so and is resolved (a closed one stays closed)."""
    ticket = incident.ticket
    if ticket is None or ticket.status == "closed":
        return
    with force_locale(ticket.language):
        system_message(session, ticket, _(
            "The fault cleared itself: the charger has reported a good state since %(when)s. The incident "
            "is resolved.", when=format_datetime(incident.recovering_since or now, "medium")))
    if ticket.status != "resolved":
        ticket.status, ticket.resolved_at, ticket.updated_at = "resolved", now, now
    session.flush()
