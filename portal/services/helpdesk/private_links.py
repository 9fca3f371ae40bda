"""Asking for one's private links again (`/links`): new links for a visitor's open tickets and orders.

Flask-free except `queue_links_email` (needs an app context to build absolute links). The caller
answers the same whether or not anything was found; only the inbox learns.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import ChargerOrder, OutboxEmail, SupportTicket
from portal.services.helpdesk.tokens import LINK_IDLE_DAYS, issue

MAX_PER_KIND = 10  # the newest; older ones are rarely wanted and support can find them


@dataclass
class Reissued:
    tickets: list[tuple[SupportTicket, str]] = field(default_factory=list)
    orders: list[tuple[ChargerOrder, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.tickets or self.orders)


def reissue_links(session: Session, email: str) -> Reissued:
    """A new private link for each open visitor ticket and each order made with `email` (flush only).
    The old links of those stop working: the new ones go to the same inbox."""
    email = (email or "").strip().lower()
    tickets = session.scalars(
        select(SupportTicket).where(func.lower(SupportTicket.requester_email) == email,
                                    SupportTicket.requester_id.is_(None), SupportTicket.status != "closed",
                                    SupportTicket.access_token_hash.is_not(None))
        .order_by(SupportTicket.created_at.desc()).limit(MAX_PER_KIND))
    orders = session.scalars(
        select(ChargerOrder).where(func.lower(ChargerOrder.email) == email,
                                   ChargerOrder.access_token_hash.is_not(None))
        .order_by(ChargerOrder.created_at.desc()).limit(MAX_PER_KIND))
    found = Reissued([(t, issue(t)) for t in tickets], [(o, issue(o)) for o in orders])
    session.flush()
    return found


def queue_links_email(session: Session, to: str, language: str, found: Reissued) -> OutboxEmail:
    """The e-mail with the new links (flush only; the caller commits, then enqueues)."""
    from portal.services.people.mail import portal_url, queue_templated_email

    tickets = [(t, portal_url("help.token_thread", token=token)) for t, token in found.tickets]
    orders = [(o, portal_url("sales.order_by_token", token=token)) for o, token in found.orders]
    return queue_templated_email(session, to=to, template="private_links", language=language,
                                 ticket_links=tickets, order_links=orders, days=LINK_IDLE_DAYS)
