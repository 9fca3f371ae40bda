"""Telling the assignee that the customer answered: an e-mail through the outbox, and a marker on /staff
(``SupportTicket.customer_replied_at``) until the assignee opens the ticket."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import OutboxEmail, SupportTicket, TicketMessage, User


def queue_assignee_email(session: Session, ticket: SupportTicket, message: TicketMessage) -> OutboxEmail | None:
    """After a requester's message (flush only; needs an app context). None when nobody is assigned."""
    from portal.services.people.mail import portal_url, queue_templated_email

    assignee = ticket.assignee if ticket.assignee_id else None
    if assignee is None or not assignee.active or not assignee.email:
        return None
    return queue_templated_email(session, to=assignee.email, template="ticket_customer_answered",
                                 language=assignee.language or "nb", ticket=ticket, message=message,
                                 ticket_url=portal_url("staff.ticket", ticket_id=ticket.id))


def answered_for(session: Session, user: User) -> list[SupportTicket]:
    """The user's tickets with a customer answer they have not opened yet, oldest first."""
    return list(session.scalars(select(SupportTicket).where(
        SupportTicket.assignee_id == user.id, SupportTicket.customer_replied_at.is_not(None))
        .order_by(SupportTicket.customer_replied_at)))


def seen_by(ticket: SupportTicket, user: User) -> bool:
    """The assignee opened the ticket: the marker goes (True when it changed anything)."""
    if ticket.assignee_id == user.id and ticket.customer_replied_at is not None:
        ticket.customer_replied_at = None
        return True
    return False
