"""The support ticket queue: filters, and what support needs to see around one ticket."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import case, select
from sqlalchemy.orm import Session, selectinload

from portal.models import ChargePoint, Membership, Site, SupportTicket, Transaction, User
from portal.services.helpdesk.tickets import user_chargers

QUEUE_LIMIT = 200


@dataclass(frozen=True)
class QueueFilter:
    status: str = ""          # one of TICKET_STATUSES, "active" (new/open/waiting), or "" for all
    category: str = ""
    site_id: int | None = None
    assignee: str = ""        # "", "me", "none" or a user id as text


def ticket_queue(session: Session, flt: QueueFilter, me: User) -> list[SupportTicket]:
    """Matching tickets: new first, then the longest waiting."""
    query = select(SupportTicket).options(selectinload(SupportTicket.assignee), selectinload(SupportTicket.site))
    if flt.status == "active":
        query = query.where(SupportTicket.status.in_(("new", "open", "waiting_for_customer")))
    elif flt.status:
        query = query.where(SupportTicket.status == flt.status)
    if flt.category:
        query = query.where(SupportTicket.category == flt.category)
    if flt.site_id is not None:
        query = query.where(SupportTicket.site_id == flt.site_id)
    if flt.assignee == "me":
        query = query.where(SupportTicket.assignee_id == me.id)
    elif flt.assignee == "none":
        query = query.where(SupportTicket.assignee_id.is_(None))
    elif flt.assignee.isdigit():
        query = query.where(SupportTicket.assignee_id == int(flt.assignee))
    new_first = case((SupportTicket.status == "new", 0), (SupportTicket.status == "open", 1), else_=2)
    return list(session.scalars(query.order_by(new_first, SupportTicket.updated_at, SupportTicket.id)
                                .limit(QUEUE_LIMIT)))


def support_staff(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.staff_role.in_(("support", "admin")), User.active.is_(True))
                                .order_by(User.email)))


@dataclass
class RequesterContext:
    sites: list[Site] = field(default_factory=list)
    chargers: list[ChargePoint] = field(default_factory=list)
    sessions: list[Transaction] = field(default_factory=list)


def requester_context(session: Session, ticket: SupportTicket) -> RequesterContext:
    """The requester's sites, chargers and recent sessions (an account holder; a visitor has none)."""
    context = RequesterContext()
    user = ticket.requester
    if user is None:
        if ticket.charge_point is not None:
            context.chargers = [ticket.charge_point]
        return context
    context.sites = list(session.scalars(select(Site).join(Membership, Membership.site_id == Site.id)
                                         .where(Membership.user_id == user.id).order_by(Site.name)))
    context.chargers = user_chargers(session, user)
    context.sessions = list(session.scalars(select(Transaction).where(Transaction.user_id == user.id)
                                            .order_by(Transaction.started_at.desc()).limit(10)))
    return context
