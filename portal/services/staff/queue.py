"""The support ticket queue: filters, free-text search, response clocks (overdue first), counts, and what
support needs to see around one ticket.

The search is a case-insensitive substring match (ILIKE; on SQLite, which folds only A-Z, words with
æ, ø, å, ä or ö are also tried in their usual spellings) over the subject, the requester's name and e-mail, the charger's identity and every
message of the ticket; "#123" or "123" also finds ticket 123. It scans, which is quick enough for a
support desk's tens of thousands of tickets; the other filters (indexed) narrow it first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from portal.db import utcnow
from portal.models import ChargePoint, Membership, Site, SupportTicket, TicketMessage, Transaction, User
from portal.services.helpdesk.targets import Clock, clock
from portal.services.helpdesk.tickets import user_chargers

QUEUE_LIMIT = 200
SEARCH_MAX = 100


@dataclass(frozen=True)
class QueueFilter:
    status: str = ""          # one of TICKET_STATUSES, "active" (new/open/waiting), or "" for all
    category: str = ""
    site_id: int | None = None
    assignee: str = ""        # "", "me", "none" or a user id as text
    route: str = ""           # one of TICKET_ROUTES (the defective-charger guide's outcome), or ""
    search: str = ""


@dataclass(frozen=True)
class QueueRow:
    ticket: SupportTicket
    clock: Clock


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _spellings(term: str) -> set[str]:
    """ILIKE folds every letter on PostgreSQL, SQLite only A-Z: with letters such as æ, ø, å, ä or ö the
    usual ways of writing the word are tried too (as typed, lower, upper, Capitalised, Title Case)."""
    if term.isascii():
        return {term}
    return {term, term.lower(), term.upper(), term.capitalize(), term.title()}


def search_condition(term: str):
    """Tickets whose subject, requester, charger or any message contains ``term``."""
    matches = []
    for pattern in map(_like, _spellings(term)):
        matches += [column.ilike(pattern, escape="\\") for column in (
            SupportTicket.subject, SupportTicket.requester_email, SupportTicket.requester_name,
            SupportTicket.charger_identity)]
        matches.append(exists().where(TicketMessage.ticket_id == SupportTicket.id,
                                      TicketMessage.body.ilike(pattern, escape="\\")))
    number = term.lstrip("#")
    if number.isdigit() and len(number) < 10:
        matches.append(SupportTicket.id == int(number))
    return or_(*matches)


def queue_rows(session: Session, flt: QueueFilter, me: User, now: datetime | None = None) -> list[QueueRow]:
    """The queue with each ticket's clock: overdue first (the longest overdue on top), then as before."""
    now = now or utcnow()
    rows = [QueueRow(t, clock(t, now)) for t in ticket_queue(session, flt, me)]
    return sorted(rows, key=lambda r: (not r.clock.overdue, r.clock.due_at if r.clock.overdue else now))


def ticket_queue(session: Session, flt: QueueFilter, me: User) -> list[SupportTicket]:
    """Matching tickets: those waiting for our answer (the longest first), then new, open, the rest."""
    query = select(SupportTicket).options(selectinload(SupportTicket.assignee), selectinload(SupportTicket.site))
    if flt.route:
        query = query.where(SupportTicket.route == flt.route)
    term = flt.search.strip()[:SEARCH_MAX]
    if term:
        query = query.where(search_condition(term))
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
    # Who waits longest for us first (so the limit never cuts off an overdue ticket before a newer one),
    # then new, open, the rest; queue_rows then lifts the overdue ones (a short urgent target) to the top.
    waiting_first = case((SupportTicket.awaiting_since.is_(None), 1), else_=0)
    new_first = case((SupportTicket.status == "new", 0), (SupportTicket.status == "open", 1), else_=2)
    return list(session.scalars(query.order_by(waiting_first, SupportTicket.awaiting_since, new_first,
                                               SupportTicket.updated_at, SupportTicket.id)
                                .limit(QUEUE_LIMIT)))


def counts(session: Session, site_id: int | None = None) -> dict[str, dict[str, int]]:
    """Tickets per status (all) and per category (those not resolved or closed), for /staff."""
    def grouped(column, *where) -> dict[str, int]:
        query = select(column, func.count()).group_by(column).where(*where)
        if site_id is not None:
            query = query.where(SupportTicket.site_id == site_id)
        return {key: n for key, n in session.execute(query)}

    return {"status": grouped(SupportTicket.status),
            "category": grouped(SupportTicket.category, SupportTicket.status.not_in(("resolved", "closed")))}


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
