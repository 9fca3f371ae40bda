"""Merging a duplicate ticket into the one that carries on.

The duplicate is closed with a pointer (``merged_into_id``) and a message in its requester's language,
and the requester gets an e-mail saying so in plain words. Messages and photos MOVE only when both
tickets have the same requester (the same account, or the same visitor address); otherwise they stay
where they are, so nobody reads another person's messages, and the surviving ticket gets an internal
note linking the duplicate.

Two colleagues merging at once (the same pair, or A into B while B goes into A) end in one clear state:
both rows are claimed in id order by conditional UPDATEs that also require "not closed"; whoever comes
second finds a closed ticket and is refused ("merge_closed"). PostgreSQL re-checks the condition after
waiting on the row lock; SQLite runs one writer at a time. Flask-free except the texts (app context).
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import update
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import OutboxEmail, SupportTicket, TicketMessage, TicketPhoto, User
from portal.services.helpdesk.tickets import TicketError, _require_staff


@dataclass
class Merged:
    moved: bool                # messages and photos moved (same requester) or only linked
    outbox: OutboxEmail | None


def same_requester(a: SupportTicket, b: SupportTicket) -> bool:
    if a.requester_id is not None or b.requester_id is not None:
        return a.requester_id == b.requester_id
    return bool(a.requester_email) and a.requester_email.lower() == b.requester_email.lower()


def _claim_both(session: Session, ids: list[int]) -> None:
    now = utcnow()
    for ticket_id in sorted(ids):
        claimed = session.execute(
            update(SupportTicket).where(SupportTicket.id == ticket_id, SupportTicket.status != "closed")
            .values(updated_at=now).execution_options(synchronize_session=False)).rowcount
        if not claimed:
            raise TicketError("merge_closed")


def merge(session: Session, duplicate: SupportTicket, target: SupportTicket, staff: User) -> Merged:
    """Close ``duplicate`` into ``target`` (flush only); the caller commits, then enqueues ``outbox``."""
    _require_staff(staff)
    if duplicate.id == target.id:
        raise TicketError("merge_self")
    _claim_both(session, [duplicate.id, target.id])
    session.refresh(duplicate)
    session.refresh(target)
    moved = same_requester(duplicate, target)
    if moved:
        for model in (TicketMessage, TicketPhoto):
            session.execute(update(model).where(model.ticket_id == duplicate.id).values(ticket_id=target.id)
                            .execution_options(synchronize_session=False))
    now = utcnow()
    waits = [t for t in (duplicate.awaiting_since, target.awaiting_since) if t is not None]
    target.awaiting_since = min(waits) if waits else None
    target.updated_at = now
    with force_locale(staff.language or "nb"):  # stored text, in the language of who merged; no
        # requester's words in it (an erased requester's texts must not survive in a staff note)
        note = (_("Merged from %(ref)s; its messages are above.", ref=duplicate.reference) if moved else
                _("Merged from %(ref)s, sent by someone else: its messages stay there.", ref=duplicate.reference))
    session.add(TicketMessage(ticket_id=target.id, author_id=staff.id, author_role="staff", body=note,
                              internal=True))
    with force_locale(duplicate.language):
        pointer = _("We have joined this request with request %(ref)s, which is about the same matter. "
                    "We carry on there.", ref=target.reference)
    session.add(TicketMessage(ticket_id=duplicate.id, author_id=staff.id, author_role="system", body=pointer))
    duplicate.status, duplicate.closed_at, duplicate.updated_at = "closed", now, now
    duplicate.merged_into_id, duplicate.awaiting_since, duplicate.customer_replied_at = target.id, None, None
    session.flush()
    session.expire(duplicate, ["messages", "photos"])
    session.expire(target, ["messages", "photos"])
    return Merged(moved, _merged_email(session, duplicate, target, moved))


def _merged_email(session: Session, duplicate: SupportTicket, target: SupportTicket,
                  moved: bool) -> OutboxEmail | None:
    from portal.services.people.mail import portal_url, queue_templated_email

    if not duplicate.requester_email:
        return None
    thread_url = portal_url("help.ticket", ticket_id=target.id) if moved and target.requester_id else None
    return queue_templated_email(session, to=duplicate.requester_email, template="ticket_merged",
                                 language=duplicate.language, ticket=duplicate, target=target, moved=moved,
                                 thread_url=thread_url)
