"""Quote requests (leads): stored with status ``new``, confirmed to the requester, announced to sales.

Flask-free; functions flush, the caller commits and then enqueues the returned outbox ids.
Status machine (``portal.models.sales.LEAD_STATUSES``): new -> contacted -> offer_sent -> won | lost;
sales may move a lead to any status (a lost lead can come back), each change stamps ``updated_at``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import Lead, OutboxEmail, Site, User
from portal.models.sales import LEAD_KINDS, LEAD_STATUSES, ORG_TYPES
from portal.services.sales.orgnumbers import parse_org_number


class LeadError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class LeadRequest:
    """What the quote form collected (already validated by the form)."""

    org_type: str
    org_name: str
    org_number: str
    contact_name: str
    contact_role: str
    email: str
    phone: str
    parking_spaces: int
    kind: str
    message: str
    language: str
    site_id: int | None = None


def create_lead(session: Session, request: LeadRequest, requester: User | None = None) -> Lead:
    """Store the request as a lead with status ``new``; the org number is checked again and stored compact."""
    if request.org_type not in ORG_TYPES or request.kind not in LEAD_KINDS:
        raise LeadError("invalid")
    org = parse_org_number(request.org_number)
    site_id = request.site_id if request.site_id and session.get(Site, request.site_id) else None
    lead = Lead(
        status="new", org_type=request.org_type, org_name=request.org_name.strip()[:160],
        org_number=org.compact, country=org.country, contact_name=request.contact_name.strip()[:120],
        contact_role=request.contact_role.strip()[:80], email=request.email.strip()[:254],
        phone=request.phone.strip()[:32], parking_spaces=max(0, int(request.parking_spaces)),
        kind=request.kind, message=request.message.strip()[:5000],
        language=request.language if request.language in ("nb", "sv", "en") else "nb",
        site_id=site_id, requester_id=requester.id if requester else None,
    )
    session.add(lead)
    session.flush()
    return lead


def queue_lead_emails(session: Session, lead: Lead, sales_address: str, sales_language: str = "nb",
                      ) -> list[OutboxEmail]:
    """Confirmation to the requester (their language) and a notification to sales. Needs an app context."""
    from portal.services.people.mail import queue_templated_email

    rows = [queue_templated_email(session, to=lead.email, template="lead_confirmation",
                                  language=lead.language, lead=lead)]
    if sales_address:
        rows.append(queue_templated_email(session, to=sales_address, template="lead_notification",
                                          language=sales_language, lead=lead))
    return rows


def change_status(session: Session, lead: Lead, status: str, actor: User) -> None:
    """Sales move a lead along."""
    _require_sales(actor)
    if status not in LEAD_STATUSES:
        raise LeadError("invalid_status")
    lead.status = status
    lead.updated_at = utcnow()
    session.flush()


def assign(session: Session, lead: Lead, assignee: User | None, actor: User) -> None:
    _require_sales(actor)
    if assignee is not None and not assignee.is_sales:
        raise LeadError("not_sales")
    lead.assignee_id = assignee.id if assignee else None
    lead.updated_at = utcnow()
    session.flush()


def set_follow_up(session: Session, lead: Lead, actor: User, *, notes: str | None = None,
                  next_step_on: date | None = None) -> None:
    """Sales notes and the date of the next step (None clears it)."""
    _require_sales(actor)
    if notes is not None:
        lead.notes = notes.strip()[:10000]
    lead.next_step_on = next_step_on
    lead.updated_at = utcnow()
    session.flush()


def recent_leads(session: Session, status: str | None = None, limit: int = 200) -> list[Lead]:
    query = select(Lead).order_by(Lead.created_at.desc(), Lead.id.desc()).limit(limit)
    if status:
        query = query.where(Lead.status == status)
    return list(session.scalars(query))


def _require_sales(user: User) -> None:
    if user is None or not user.is_sales:
        raise LeadError("not_sales")
