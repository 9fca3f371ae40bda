"""How long each kind of personal data is kept (the table in SECURITY.md), applied by one daily job
(worker.jobs.retention.apply_retention). Each rule flushes, never commits, and returns how many rows it
changed, so the job can log it and a test can check it. The OCPP message log and card ids on sessions keep
their own rules (ocpp_server.msglog, retention.forget_old_id_tags, run by purge_message_log).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import (
    ActionRequest, AuditEntry, ChargerOrder, Invite, Lead, OutboxEmail, Statement, SupportTicket, TicketPhoto, User,
)
from portal.services.helpdesk.tokens import LINK_IDLE_DAYS

OUTBOX_BODY_DAYS = 30        # a sent e-mail's text, then only who/what/when stays
OUTBOX_ROW_DAYS = 365        # the record that an e-mail was sent
TICKET_PHOTO_DAYS = 90       # photos of a ticket after it was resolved or closed
TICKET_DAYS = 3 * 365        # a closed ticket (the general limitation period for claims, 3 years)
SALES_CONTACT_DAYS = 2 * 365  # contact details of finished quote requests and orders
LINK_FORGET_DAYS = LINK_IDLE_DAYS + 90  # an expired private link answers "ask for a new one" for 90 days more
INVITE_DAYS = 90             # a revoked or expired invite (it holds someone's e-mail address)
UNCONFIRMED_ACCOUNT_DAYS = 30  # a registration whose address was never confirmed
REQUEST_TAG_DAYS = 90        # the idTag in a charger request's payload (as RFID_RETENTION_DAYS)
STAFF_AUDIT_DAYS = 5 * 365   # the staff console's audit log
BOOKKEEPING_YEARS = 5        # bokføringsloven § 13: five years after the end of the financial year


def purge_outbox(session: Session, now: datetime) -> int:
    done = OutboxEmail.status.in_(("sent", "failed"))
    blanked = session.execute(update(OutboxEmail).where(
        done, OutboxEmail.created_at < now - timedelta(days=OUTBOX_BODY_DAYS), OutboxEmail.body_text != "")
        .values(body_text="", body_html=None)).rowcount or 0
    return blanked + (session.execute(delete(OutboxEmail).where(
        done, OutboxEmail.created_at < now - timedelta(days=OUTBOX_ROW_DAYS))).rowcount or 0)


def purge_ticket_photos(session: Session, now: datetime, upload_dir: str | Path | None) -> int:
    from portal.services.people.erasure import remove_photo

    cutoff = now - timedelta(days=TICKET_PHOTO_DAYS)
    photos = list(session.scalars(select(TicketPhoto).join(SupportTicket).where(
        SupportTicket.status.in_(("resolved", "closed")),
        SupportTicket.updated_at < cutoff)))
    for photo in photos:
        remove_photo(session, photo, upload_dir)
    return len(photos)


def purge_closed_tickets(session: Session, now: datetime, upload_dir: str | Path | None) -> int:
    from portal.services.people.erasure import remove_photo

    tickets = list(session.scalars(select(SupportTicket).where(
        SupportTicket.status == "closed", SupportTicket.updated_at < now - timedelta(days=TICKET_DAYS))))
    for ticket in tickets:
        for photo in list(ticket.photos):
            remove_photo(session, photo, upload_dir)
        session.delete(ticket)
    return len(tickets)


def forget_sales_contacts(session: Session, now: datetime) -> int:
    cutoff = now - timedelta(days=SALES_CONTACT_DAYS)
    leads = session.execute(update(Lead).where(Lead.status.in_(("won", "lost")), Lead.updated_at < cutoff,
                                               Lead.email != "")
                            .values(contact_name="", contact_role="", email="", phone="", message="")).rowcount or 0
    orders = session.execute(update(ChargerOrder).where(
        ChargerOrder.status.in_(("configured", "cancelled")), ChargerOrder.updated_at < cutoff, ChargerOrder.email != "")
        .values(name="", email="", phone="", access_token_hash=None)).rowcount or 0
    return leads + orders


def forget_expired_links(session: Session, now: datetime) -> int:
    cutoff = now - timedelta(days=LINK_FORGET_DAYS)
    count = 0
    for model in (SupportTicket, ChargerOrder):
        count += session.execute(update(model).where(model.access_token_hash.is_not(None),
                                                     model.access_token_used_at < cutoff)
                                 .values(access_token_hash=None)).rowcount or 0
    return count


def purge_invites(session: Session, now: datetime) -> int:
    cutoff = now - timedelta(days=INVITE_DAYS)
    return session.execute(delete(Invite).where(
        (Invite.status == "revoked") & (Invite.created_at < cutoff)
        | (Invite.status == "pending") & (Invite.expires_at < cutoff))).rowcount or 0


def purge_unconfirmed_accounts(session: Session, now: datetime) -> int:
    users = list(session.scalars(select(User).where(
        User.email_verified_at.is_(None), User.last_login_at.is_(None), User.staff_role.is_(None),
        User.created_at < now - timedelta(days=UNCONFIRMED_ACCOUNT_DAYS))))
    for user in users:  # never confirmed, never logged in: nothing of theirs can exist but the row
        session.delete(user)
    return len(users)


def forget_request_tags(session: Session, now: datetime) -> int:
    count = 0
    for action in session.scalars(select(ActionRequest).where(
            ActionRequest.created_at < now - timedelta(days=REQUEST_TAG_DAYS),
            ActionRequest.action == "RemoteStartTransaction")):
        if "idTag" in (action.payload or {}):
            action.payload = {k: v for k, v in action.payload.items() if k != "idTag"}
            count += 1
    return count


def purge_staff_audit(session: Session, now: datetime) -> int:
    return session.execute(delete(AuditEntry).where(
        AuditEntry.area == "staff", AuditEntry.created_at < now - timedelta(days=STAFF_AUDIT_DAYS))).rowcount or 0


def purge_old_documents(session: Session, now: datetime) -> int:
    """Documents of deleted accounts once the bookkeeping period is over (the year + 5 full years). A
    document still referred to by a kept one (a later credit note or re-billing) stays until that one goes."""
    from sqlalchemy.exc import IntegrityError

    docs = list(session.scalars(select(Statement).where(
        Statement.user_id.is_(None), Statement.year < now.year - BOOKKEEPING_YEARS)))
    removed = 0
    for doc in sorted(docs, key=lambda d: d.corrects_id is None):  # credit notes before what they correct
        try:
            with session.begin_nested():
                session.delete(doc)
                session.flush()
            removed += 1
        except IntegrityError:
            continue
    return removed


def apply_all(session: Session, *, upload_dir: str | Path | None = None, now: datetime | None = None) -> dict[str, int]:
    """Every rule above, in one transaction of the caller; returns how many rows each changed."""
    now = now or utcnow()
    result = {
        "outbox": purge_outbox(session, now),
        "ticket_photos": purge_ticket_photos(session, now, upload_dir),
        "closed_tickets": purge_closed_tickets(session, now, upload_dir),
        "sales_contacts": forget_sales_contacts(session, now),
        "private_links": forget_expired_links(session, now),
        "invites": purge_invites(session, now),
        "unconfirmed_accounts": purge_unconfirmed_accounts(session, now),
        "request_tags": forget_request_tags(session, now),
        "staff_audit": purge_staff_audit(session, now),
        "documents": purge_old_documents(session, now),
    }
    session.flush()
    return result
