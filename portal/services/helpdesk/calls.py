"""A phone call to support, noted as a ticket of the caller's.

What support writes about the call is an internal note: staff only, never e-mailed. The caller sees the
ticket among their requests with a subject and one line chosen from plain words in their own language
("You spoke with our support team on the phone"), so a call has a reference number they can quote.
A call about something already open is noted on that ticket instead of a new one. Flushes, never commits;
needs a Flask app context (the plain words are translated into the caller's language when stored).
"""
from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from portal.db import utcnow
from portal.labels import TICKET_CATEGORY_LABELS
from portal.models import SupportTicket, TicketMessage, User
from portal.models.support import TICKET_CATEGORIES
from portal.services.helpdesk.tickets import BODY_MAX, OPEN_STATES, TicketError, add_internal_note
from portal.services.sites import audit

OUTCOMES = ("resolved", "open")  # solved on the phone, or support follows it up


def _plain_words(person: User, category: str) -> tuple[str, str]:
    """(subject, the line the caller reads), in the caller's language."""
    with force_locale(person.language):
        subject = _("Phone call with support: %(topic)s", topic=str(TICKET_CATEGORY_LABELS[category]))
        line = _("You spoke with our support team on the phone.")
    return subject, line


def note_call(session, staff: User, person: User, *, category: str, outcome: str, note: str,
              ticket: SupportTicket | None = None) -> SupportTicket:
    """Note a call with `person`: on `ticket` (one of their open tickets) or on a new ticket.
    Raises TicketError (not_staff, invalid, empty, not_theirs, closed)."""
    if staff is None or not staff.is_support:
        raise TicketError("not_staff")
    note = (note or "").strip()
    if category not in TICKET_CATEGORIES or outcome not in OUTCOMES:
        raise TicketError("invalid")
    if not note:
        raise TicketError("empty")
    if ticket is not None and (ticket.requester_id != person.id or ticket.status not in OPEN_STATES):
        raise TicketError("not_theirs")
    subject, line = _plain_words(person, category)
    now = utcnow()
    created = ticket is None
    if created:
        ticket = SupportTicket(category=category, route="operator", status="new", language=person.language,
                               subject=subject[:200], requester_id=person.id, requester_email=person.email,
                               requester_name=person.name[:120], requester_phone=(person.phone or "")[:32],
                               first_response_at=now)
        session.add(ticket)
        session.flush()
    session.add(TicketMessage(ticket_id=ticket.id, author_id=staff.id, author_role="system", body=line))
    session.flush()
    add_internal_note(session, ticket, staff, note[:BODY_MAX])
    ticket.status = "resolved" if outcome == "resolved" else "open"
    ticket.resolved_at = now if outcome == "resolved" else None
    ticket.first_response_at = ticket.first_response_at or now
    ticket.updated_at = now
    audit.record(session, staff, ticket.site_id, "ticket", ticket.id, "call_noted",
                 after={"user_id": person.id, "category": category, "status": ticket.status, "new_ticket": created},
                 area="staff", reason=note[:500])
    session.flush()
    return ticket
