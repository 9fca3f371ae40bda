"""Deleting an account on request (GDPR art. 17), without Flask: the resident's own page, staff and jobs.

Order of work, all in the caller's transaction (flush only; the caller commits once):

1. refuse while the person is charging or a start/stop of theirs is under way (``DeletionRefused``);
2. settle the billing: their subscriptions end now, and every completed session and subscription fee
   not yet on a document is billed on a statement (or a supplementary statement when the month's
   statement exists), so nothing billable is lost with the account (``statements.issue_for_user``);
3. erase the person everywhere else (see ``erase_person``): what identifies them is deleted, blanked or
   replaced by the pseudonym ``Deleted user #N``; amounts, dates and energy stay for the bookkeeping;
4. delete the account row (its log-in sessions, memberships, tags, favourites and subscriptions go with it).

The confirmation e-mail goes to the address before it is erased (``DeletionResult.email``); the mail job
removes that outbox row once it is sent (``ERASE_WHEN_SENT``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import (
    ActionRequest, AuditEntry, ChargePoint, ChargerOrder, Favourite, IdTag, Invite, Lead, LoginSession,
    Notification, OcppMessage, OrphanStop, OutboxEmail, Statement, SupportTicket, TicketPhoto, Transaction,
    User, UserGroupMember, UserSubscription,
)
from portal.services.billing import statements
from portal.services.billing.ledger import Operator, pseudonym

REMOVED = "[removed]"  # stored in place of a text the person wrote (like the pseudonym: not translated)
DELETION_EMAIL_KIND = "account_deleted"
ERASE_WHEN_SENT = frozenset({DELETION_EMAIL_KIND})  # outbox rows deleted by the mail job once sent
OPEN_ORDER_STATUSES = ("received", "installer_booked")
OPEN_TICKET_STATUSES = ("new", "open", "waiting_for_customer")
PENDING_ACTION_STATES = ("queued", "sent")


class DeletionRefused(Exception):
    """The account cannot be deleted now: ``code`` says why (charging, starting, staff)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class DeletionPreview:
    """What deleting the account now would do, for the confirmation page."""

    refusal: str | None
    unbilled_sessions: int
    subscriptions: int
    open_orders: int
    open_tickets: int
    documents: int


@dataclass
class DeletionResult:
    user_id: int
    pseudonym: str
    email: str
    name: str
    language: str
    documents: list[Statement] = field(default_factory=list)


def _refusal(session: Session, user: User) -> str | None:
    if user.staff_role is not None:
        return "staff"
    if session.scalar(select(Transaction.id).where(Transaction.user_id == user.id, Transaction.status == "active")
                      .limit(1)):
        return "charging"
    if session.scalar(select(ActionRequest.id).where(
            ActionRequest.requested_by_id == user.id, ActionRequest.state.in_(PENDING_ACTION_STATES),
            ActionRequest.action.in_(("RemoteStartTransaction", "RemoteStopTransaction"))).limit(1)):
        return "starting"
    return None


def _count(session: Session, query) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def _own_orders(user: User):
    return or_(ChargerOrder.user_id == user.id, func.lower(ChargerOrder.email) == user.email.lower())


def _own_tickets(user: User):
    return or_(SupportTicket.requester_id == user.id, func.lower(SupportTicket.requester_email) == user.email.lower())


def _own_leads(user: User):
    return or_(Lead.requester_id == user.id, func.lower(Lead.email) == user.email.lower())


def preview(session: Session, user: User) -> DeletionPreview:
    """What the confirmation page tells before the person decides."""
    unbilled = select(Transaction.id).where(Transaction.user_id == user.id, Transaction.status == "completed",
                                            ~statements.ON_A_DOCUMENT, Transaction.billable.is_(True))
    return DeletionPreview(
        refusal=_refusal(session, user),
        unbilled_sessions=_count(session, unbilled),
        subscriptions=_count(session, select(UserSubscription.id).where(
            UserSubscription.user_id == user.id, UserSubscription.status == "active")),
        open_orders=_count(session, select(ChargerOrder.id).where(
            _own_orders(user), ChargerOrder.status.in_(OPEN_ORDER_STATUSES))),
        open_tickets=_count(session, select(SupportTicket.id).where(
            _own_tickets(user), SupportTicket.status.in_(OPEN_TICKET_STATUSES))),
        documents=_count(session, select(Statement.id).where(Statement.user_id == user.id)))


def delete_account(session: Session, user: User, operator: Operator, *, upload_dir: str | Path | None = None,
                   now: datetime | None = None) -> DeletionResult:
    """Settle, erase and delete the account (flush only). Raises DeletionRefused while it is in use."""
    from portal.services.people import accounts

    code = _refusal(session, user)
    if code is not None:
        raise DeletionRefused(code)
    now = now or utcnow()
    result = DeletionResult(user.id, pseudonym(user.id), user.email, user.display_name, user.language)
    result.documents = settle(session, user, operator, now)
    erase_person(session, user, upload_dir=upload_dir, now=now)
    accounts.delete_account(session, user)
    return result


# --- 2. billing first ----------------------------------------------------------------------------

def settle(session: Session, user: User, operator: Operator, now: datetime) -> list[Statement]:
    """End the person's subscriptions now and bill everything not yet on a document; returns the new ones."""
    for sub in session.scalars(select(UserSubscription).where(UserSubscription.user_id == user.id,
                                                              UserSubscription.status == "active")):
        sub.status, sub.ended_at = "ended", now
    session.flush()
    documents = []
    for site, months in statements.months_to_settle(session, user.id, now).items():
        for year, month in months:
            doc = statements.issue_for_user(session, site, year, month, operator, user)
            if doc is not None:
                documents.append(doc)
    return documents


# --- 3. erasing the person ------------------------------------------------------------------------

class Scrubber:
    """Replaces the person's name, e-mail, phone and tag ids inside free text and JSON by the pseudonym."""

    def __init__(self, user: User, tags: list[str]) -> None:
        self.label = pseudonym(user.id)
        words = {user.email, user.name.strip(), user.phone.strip(), *tags}
        words = sorted((w for w in words if w and len(w) >= 3), key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE) if words else None

    def text(self, value: str | None) -> str | None:
        if not value or self.pattern is None:
            return value
        return self.pattern.sub(self.label, value)

    def json(self, value):
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v) for v in value]
        return value


def erase_person(session: Session, user: User, *, upload_dir: str | Path | None = None,
                 now: datetime | None = None) -> None:
    """Remove or pseudonymise everything that names the person, outside their account row (flush only)."""
    from portal.services.people.retention import pseudonymise_documents

    now = now or utcnow()
    tags = list(session.scalars(select(IdTag.tag).where(IdTag.user_id == user.id)))
    scrub = Scrubber(user, tags)
    _forget_tags(session, user, tags, scrub)
    _erase_requests(session, user, scrub, upload_dir, now)
    _erase_traces(session, user, scrub)
    pseudonymise_documents(session, user.id)
    for model in (IdTag, Favourite, UserSubscription, LoginSession, Notification, UserGroupMember):
        session.execute(delete(model).where(model.user_id == user.id))
    session.execute(delete(Invite).where(func.lower(Invite.email) == user.email.lower()))
    session.flush()


def _forget_tags(session: Session, user: User, tags: list[str], scrub: Scrubber) -> None:
    """Card and virtual tag ids leave the sessions, stops, requests and the charger message log."""
    mine = or_(Transaction.user_id == user.id, Transaction.id_tag.in_(tags)) if tags else Transaction.user_id == user.id
    for tx in session.scalars(select(Transaction).where(mine, Transaction.status != "active")):
        tx.id_tag = ""
        tx.close_note = scrub.text(tx.close_note)
    if tags:
        for stop in session.scalars(select(OrphanStop).where(OrphanStop.id_tag.in_(tags))):
            stop.id_tag = None
            stop.payload = {k: v for k, v in (stop.payload or {}).items() if k != "idTag"}
        for tag in tags:
            for row in session.scalars(select(OcppMessage).where(OcppMessage.frame.contains(tag))):
                row.frame = row.frame.replace(tag, "")
    for action in session.scalars(select(ActionRequest).where(ActionRequest.requested_by_id == user.id)):
        action.payload = {k: v for k, v in (action.payload or {}).items() if k != "idTag"}
        action.reason = scrub.text(action.reason)
    for cp in session.scalars(select(ChargePoint).where(ChargePoint.owner_id == user.id)):
        cp.name = scrub.text(cp.name) or ""


def _erase_requests(session: Session, user: User, scrub: Scrubber, upload_dir, now: datetime) -> None:
    """Tickets, charger orders and quote requests the person made: contact details go, their own texts
    become "[removed]", what staff wrote is kept with the person's name replaced; open ones are closed."""
    label = scrub.label
    for ticket in session.scalars(select(SupportTicket).where(_own_tickets(user))):
        ticket.requester_email, ticket.requester_name, ticket.requester_phone = "", label, ""
        ticket.subject, ticket.access_token_hash = REMOVED, None
        if ticket.status in OPEN_TICKET_STATUSES:
            ticket.status, ticket.closed_at = "closed", now
        for message in ticket.messages:
            message.body = REMOVED if message.author_role == "requester" else scrub.text(message.body) or ""
        for photo in list(ticket.photos):
            remove_photo(session, photo, upload_dir)
    for order in session.scalars(select(ChargerOrder).where(_own_orders(user))):
        order.name, order.email, order.phone, order.parking_space = label, "", "", REMOVED
        order.notes, order.access_token_hash = scrub.text(order.notes) or "", None
        if order.status in OPEN_ORDER_STATUSES:
            order.status = "cancelled"
    for lead in session.scalars(select(Lead).where(_own_leads(user))):
        lead.contact_name, lead.contact_role, lead.email, lead.phone = label, "", "", ""
        lead.message, lead.notes = REMOVED, scrub.text(lead.notes) or ""


def remove_photo(session: Session, photo: TicketPhoto, upload_dir) -> None:
    """Delete a ticket photo: the file under UPLOAD_DIR and its row."""
    if upload_dir:
        from portal.services.helpdesk.photos import photo_path

        try:
            photo_path(upload_dir, photo.storage_key).unlink(missing_ok=True)
        except (OSError, ValueError):
            pass
    session.delete(photo)


def _erase_traces(session: Session, user: User, scrub: Scrubber) -> None:
    """E-mails to the person and the audit trail: the outbox copies go, audit entries keep what was done
    with the person replaced by the pseudonym."""
    session.execute(delete(OutboxEmail).where(func.lower(OutboxEmail.to_address) == user.email.lower()))
    changed = []
    for entry in session.scalars(select(AuditEntry).execution_options(yield_per=500)):
        before, after, reason = scrub.json(entry.before), scrub.json(entry.after), scrub.text(entry.reason)
        if (before, after, reason) != (entry.before, entry.after, entry.reason):
            changed.append((entry, before, after, reason))
    for entry, before, after, reason in changed:
        entry.before, entry.after, entry.reason = before, after, reason
