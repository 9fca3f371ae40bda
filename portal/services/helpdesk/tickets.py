"""Support tickets: opening, the thread of replies and notes, status and assignment.

Flask-free; every function takes a Session and flushes, never commits. E-mails are queued in the
outbox inside the same transaction (``portal.services.people.mail``); the caller commits and then hands
the returned outbox ids to ``enqueue_outbox``. Rendering e-mails needs a Flask app context (not a
request), so the worker or the staff console can call these too.

Status machine (``portal.models.support.TICKET_STATUSES``):

    new --(staff reply)--> waiting_for_customer --(requester reply)--> open
    any open state --(change_status)--> open | waiting_for_customer | resolved | closed
    resolved --(requester reply)--> open;  closed is final: replies are refused (TicketClosed)

Who may read a ticket: its requester (signed in), the holder of its private link (visitors),
and support staff or operator admins. Internal notes are for staff only.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import ChargePoint, OutboxEmail, SupportTicket, TicketMessage, User
from portal.models.support import TICKET_CATEGORIES, TICKET_ROUTES, TICKET_STATUSES
from portal.services.helpdesk.tokens import hash_token, new_token

OPEN_STATES = ("new", "open", "waiting_for_customer")
BODY_MAX = 5000


class TicketError(ValueError):
    """A request the ticket rules refuse; ``code`` names the reason for the page."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Opened:
    ticket: SupportTicket
    token: str | None  # the visitor's private link token (only returned once, never stored)
    outbox_ids: list[int] = field(default_factory=list)


def open_ticket(
    session: Session, *, category: str, description: str, language: str, requester: User | None,
    email: str = "", name: str = "", phone: str = "", charge_point: ChargePoint | None = None,
    charger_identity: str = "", route: str = "operator", subject: str = "",
) -> Opened:
    """Store a new ticket with its first message. A visitor (no ``requester``) gets a private link token."""
    if category not in TICKET_CATEGORIES or route not in TICKET_ROUTES:
        raise TicketError("invalid")
    description = description.strip()
    if not description:
        raise TicketError("empty")
    token, token_hash = (None, None) if requester else new_token()
    ticket = SupportTicket(
        category=category, route=route, status="new", language=language if language in ("nb", "sv", "en") else "nb",
        subject=(subject or description.splitlines()[0])[:200],
        requester_id=requester.id if requester else None,
        requester_email=(requester.email if requester else email).strip(),
        requester_name=((requester.name if requester else "") or name).strip()[:120],
        requester_phone=((requester.phone if requester else "") or phone).strip()[:32],
        charge_point_id=charge_point.id if charge_point else None,
        site_id=charge_point.site_id if charge_point else None,
        charger_identity=(charge_point.identity if charge_point else charger_identity).strip()[:64],
        access_token_hash=token_hash, access_token_used_at=utcnow() if token_hash else None,
        awaiting_since=utcnow(),
    )
    session.add(ticket)
    session.flush()
    session.add(TicketMessage(ticket_id=ticket.id, author_id=ticket.requester_id, author_role="requester",
                              body=description[:BODY_MAX]))
    session.flush()
    return Opened(ticket, token)


def add_requester_reply(session: Session, ticket: SupportTicket, body: str, author: User | None) -> TicketMessage:
    """The requester answers in the thread; a waiting or resolved ticket opens again, the response clock
    starts (unless it already runs) and the assignee's marker is set."""
    message = _message(session, ticket, body, author, "requester", internal=False)
    if ticket.status in ("waiting_for_customer", "resolved"):
        ticket.status = "open"
        ticket.resolved_at = None
    now = utcnow()
    ticket.updated_at = now
    ticket.awaiting_since = ticket.awaiting_since or now
    if ticket.assignee_id is not None:
        ticket.customer_replied_at = now
    session.flush()
    return message


def add_staff_reply(session: Session, ticket: SupportTicket, staff: User, body: str,
                    *, notify: bool = True) -> tuple[TicketMessage, OutboxEmail | None]:
    """A staff answer visible to the requester: the ticket waits for the customer, and (with ``notify``)
    an e-mail with a link to the thread is queued in the requester's language. Needs an app context."""
    _require_staff(staff)
    message = _message(session, ticket, body, staff, "staff", internal=False)
    now = utcnow()
    ticket.first_response_at = ticket.first_response_at or now
    ticket.awaiting_since = None
    if ticket.status in OPEN_STATES:
        ticket.status = "waiting_for_customer"
    ticket.updated_at = now
    session.flush()
    outbox = queue_reply_email(session, ticket, message) if notify else None
    return message, outbox


def add_internal_note(session: Session, ticket: SupportTicket, staff: User, body: str) -> TicketMessage:
    """A note for colleagues: never shown to the requester, never e-mailed. Status is unchanged."""
    _require_staff(staff)
    message = _message(session, ticket, body, staff, "staff", internal=True)
    ticket.updated_at = utcnow()
    session.flush()
    return message


def change_status(session: Session, ticket: SupportTicket, status: str, actor: User) -> None:
    """Staff move a ticket along; resolving and closing record when. A closed ticket stays closed."""
    _require_staff(actor)
    if status not in TICKET_STATUSES or status == "new":
        raise TicketError("invalid_status")
    if ticket.status == "closed" and status != "closed":
        raise TicketError("closed")
    now = utcnow()
    ticket.status = status
    ticket.resolved_at = now if status == "resolved" else (ticket.resolved_at if status == "closed" else None)
    ticket.closed_at = now if status == "closed" else None
    ticket.updated_at = now
    session.flush()


def assign(session: Session, ticket: SupportTicket, assignee: User | None, actor: User) -> None:
    """Give the ticket to a support colleague (or to nobody)."""
    _require_staff(actor)
    if assignee is not None and not assignee.is_support:
        raise TicketError("not_support")
    ticket.assignee_id = assignee.id if assignee else None
    ticket.updated_at = utcnow()
    session.flush()


def take(session: Session, ticket: SupportTicket, staff: User) -> None:
    """Take an unassigned ticket (or one already ours) in one conditional UPDATE: of two colleagues
    pressing "Take it" at once, one gets it and the other is told who has it (TicketError "taken")."""
    _require_staff(staff)
    now = utcnow()
    taken = session.execute(
        update(SupportTicket)
        .where(SupportTicket.id == ticket.id,
               (SupportTicket.assignee_id.is_(None)) | (SupportTicket.assignee_id == staff.id))
        .values(assignee_id=staff.id, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    session.refresh(ticket)
    if not taken:
        raise TicketError("taken")


def can_view(user: User | None, ticket: SupportTicket) -> bool:
    """The signed-in requester, support staff and operator admins."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.is_support or (ticket.requester_id is not None and ticket.requester_id == user.id)


def visible_messages(ticket: SupportTicket, staff_view: bool) -> list[TicketMessage]:
    """The thread as the reader may see it: internal notes only for staff."""
    return [m for m in ticket.messages if staff_view or not m.internal]


def ticket_by_token(session: Session, token: str) -> SupportTicket | None:
    """The visitor's ticket behind a private link, or None."""
    if not token or len(token) > 100:
        return None
    return session.scalar(select(SupportTicket).where(SupportTicket.access_token_hash == hash_token(token)))


def tickets_of(session: Session, user: User) -> list[SupportTicket]:
    """A signed-in user's tickets, newest activity first."""
    return list(session.scalars(select(SupportTicket).where(SupportTicket.requester_id == user.id)
                                .order_by(SupportTicket.updated_at.desc(), SupportTicket.id.desc())))


def ticket_queue(session: Session, statuses: tuple[str, ...] = OPEN_STATES, assignee_id: int | None = None,
                 limit: int = 200) -> list[SupportTicket]:
    """Tickets for the support console: the given statuses, oldest activity first (who waits longest)."""
    query = (select(SupportTicket).where(SupportTicket.status.in_(statuses))
             .order_by(SupportTicket.updated_at, SupportTicket.id).limit(limit))
    if assignee_id is not None:
        query = query.where(SupportTicket.assignee_id == assignee_id)
    return list(session.scalars(query))


def user_chargers(session: Session, user: User) -> list[ChargePoint]:
    """The chargers a signed-in user may pick on the ticket form: those at their sites, and their own."""
    from portal.models import Membership

    site_ids = select(Membership.site_id).where(Membership.user_id == user.id)
    query = select(ChargePoint).where((ChargePoint.site_id.in_(site_ids)) | (ChargePoint.owner_id == user.id))
    return list(session.scalars(query.order_by(ChargePoint.identity)))


def queue_confirmation_email(session: Session, ticket: SupportTicket, thread_url: str) -> OutboxEmail:
    """Confirmation to the requester with the link to the thread (the private link for a visitor)."""
    from portal.services.people.mail import queue_templated_email

    return queue_templated_email(session, to=ticket.requester_email, template="ticket_confirmation",
                                 language=ticket.language, ticket=ticket, thread_url=thread_url)


def queue_reply_email(session: Session, ticket: SupportTicket, message: TicketMessage) -> OutboxEmail | None:
    """Tell the requester that support answered. A visitor's link cannot be rebuilt (only its hash is
    kept), so the e-mail carries the answer itself and says to use the link from the first e-mail."""
    from portal.services.people.mail import portal_url, queue_templated_email

    if not ticket.requester_email:  # the requester's account was deleted: nobody to write to
        return None
    thread_url = portal_url("help.ticket", ticket_id=ticket.id) if ticket.requester_id else None
    return queue_templated_email(session, to=ticket.requester_email, template="ticket_reply",
                                 language=ticket.language, ticket=ticket, message=message, thread_url=thread_url)


def _message(session: Session, ticket: SupportTicket, body: str, author: User | None, role: str,
             *, internal: bool) -> TicketMessage:
    body = (body or "").strip()
    if not body:
        raise TicketError("empty")
    if ticket.status == "closed":
        raise TicketError("closed")
    message = TicketMessage(ticket_id=ticket.id, author_id=author.id if author else None, author_role=role,
                            body=body[:BODY_MAX], internal=internal)
    session.add(message)
    session.flush()
    session.refresh(ticket, ["messages"])
    return message


def _require_staff(user: User) -> None:
    if user is None or not user.is_support:
        raise TicketError("not_staff")
