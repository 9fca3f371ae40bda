"""Sales pipelines: leads and charger orders moved along with an audit entry each, a won lead turned
into a site in one step, and order status e-mails to the requester in their language.

Flask-free apart from e-mail rendering (an app context, as portal.services.people.mail needs). Flush only."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import ChargerOrder, Lead, OutboxEmail, Site, User
from portal.models.sites import PRICE_AREAS
from portal.services.sales import leads, orders
from portal.services.sites import audit
from portal.services.sales.orgnumbers import OrgNumberError, parse_org_number
from portal.services.sites.postcodes import PostcodeError, parse_postcode
from portal.services.staff.roles import require

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,78}[a-z0-9]$")
SITE_KINDS = {"housing_cooperative": "borettslag", "condominium": "sameie", "commercial": "commercial",
              "other": "other"}


class PipelineError(ValueError):
    def __init__(self, code: str, field: str = "") -> None:
        super().__init__(code)
        self.code, self.field = code, field


@dataclass(frozen=True)
class LeadUpdate:
    status: str
    assignee: User | None
    notes: str
    next_step_on: date | None


def update_lead(session: Session, staff: User, lead: Lead, change: LeadUpdate, reason: str = "") -> None:
    require(staff, "sales")
    fields = ("status", "assignee_id", "notes", "next_step_on")
    before = audit.snapshot(lead, fields)
    try:
        if change.status != lead.status:
            leads.change_status(session, lead, change.status, staff)
        if (change.assignee.id if change.assignee else None) != lead.assignee_id:
            leads.assign(session, lead, change.assignee, staff)
        leads.set_follow_up(session, lead, staff, notes=change.notes, next_step_on=change.next_step_on)
    except leads.LeadError as exc:
        raise PipelineError(exc.code) from exc
    after = audit.snapshot(lead, fields)
    if audit.changed(before, after):
        audit.record(session, staff, lead.site_id, "lead", lead.id, "updated", before, after, area="staff",
                     reason=reason or None)


@dataclass(frozen=True)
class NewSite:
    name: str
    slug: str
    org_number: str
    address: str
    city: str
    price_area: str
    currency: str
    postcode: str = ""


def site_from_lead(session: Session, staff: User, lead: Lead, data: NewSite) -> Site:
    """Create the site of a won lead (agreement active) and link the lead to it."""
    require(staff, "sales")
    if lead.status != "won":
        raise PipelineError("not_won")
    if lead.site_id is not None:
        raise PipelineError("has_site")
    if not SLUG.match(data.slug):
        raise PipelineError("bad_slug", "slug")
    if session.scalar(select(Site.id).where(Site.slug == data.slug)) is not None:
        raise PipelineError("slug_taken", "slug")
    if data.price_area not in PRICE_AREAS:
        raise PipelineError("bad_choice", "price_area")
    if data.currency not in ("NOK", "SEK") or data.currency != ("SEK" if data.price_area[:2] == "SE" else "NOK"):
        raise PipelineError("currency_area", "currency")
    country = data.price_area[:2]
    try:
        org = parse_org_number(data.org_number, country)
    except OrgNumberError as exc:
        raise PipelineError(f"org_{exc.code}", "org_number") from exc
    try:
        postcode = parse_postcode(data.postcode, country)
    except PostcodeError as exc:
        raise PipelineError(exc.code, "postcode") from exc
    site = Site(name=data.name.strip(), slug=data.slug, org_number=org.formatted, address=data.address.strip(),
                postcode=postcode, city=data.city.strip(), price_area=data.price_area, currency=data.currency, country=country,
                timezone="Europe/Stockholm" if country == "SE" else "Europe/Oslo",
                kind=_site_kind(lead.org_type, country), agreement_status="active")
    session.add(site)
    session.flush()
    lead.site_id = site.id
    audit.record(session, staff, site.id, "site", site.id, "created_from_lead",
                 after={"lead": lead.id, "name": site.name, "slug": site.slug, "org_number": site.org_number,
                        "postcode": site.postcode, "price_area": site.price_area, "currency": site.currency}, area="staff")
    session.flush()
    return site


def _site_kind(org_type: str, country: str) -> str:
    """A Swedish housing cooperative is a bostadsrättsförening (brf); a Norwegian one a borettslag."""
    if org_type == "housing_cooperative" and country == "SE":
        return "brf"
    return SITE_KINDS.get(org_type, "other")


@dataclass(frozen=True)
class OrderUpdate:
    status: str
    assignee: User | None
    notes: str


def update_order(session: Session, staff: User, order: ChargerOrder, change: OrderUpdate,
                 reason: str = "") -> OutboxEmail | None:
    """Move an order; a new status is e-mailed to the requester in their language (returns the outbox row)."""
    require(staff, "sales")
    fields = ("status", "assignee_id", "notes")
    before = audit.snapshot(order, fields)
    try:
        if (change.assignee.id if change.assignee else None) != order.assignee_id:
            orders.assign(session, order, change.assignee, staff)
        if change.notes != order.notes:
            orders.set_notes(session, order, change.notes, staff)
        moved = change.status != order.status
        if moved:
            orders.change_status(session, order, change.status, staff)
    except orders.OrderError as exc:
        raise PipelineError(exc.code) from exc
    after = audit.snapshot(order, fields)
    if audit.changed(before, after):
        audit.record(session, staff, order.site_id, "charger_order", order.id, "updated", before, after,
                     area="staff", reason=reason or None)
    return queue_status_email(session, order) if moved else None


def queue_status_email(session: Session, order: ChargerOrder) -> OutboxEmail | None:
    from portal.services.people.mail import queue_templated_email

    if not order.email:  # the person's account was deleted: nobody to write to
        return None

    return queue_templated_email(session, to=order.email, template="order_status", language=order.language,
                                 order=order, site=order.site)


@dataclass(frozen=True)
class SalesSummary:
    new_leads: int
    leads_due: int
    new_orders: int


def sales_summary(session: Session, today: date | None = None) -> SalesSummary:
    """What waits for sales: new quote requests, next steps due by today, orders not yet handled."""
    from sqlalchemy import func

    today = today or date.today()
    count = lambda query: session.scalar(select(func.count()).select_from(query.subquery())) or 0  # noqa: E731
    return SalesSummary(
        new_leads=count(select(Lead.id).where(Lead.status == "new")),
        leads_due=count(select(Lead.id).where(Lead.next_step_on.is_not(None), Lead.next_step_on <= today,
                                             Lead.status.not_in(("won", "lost")))),
        new_orders=count(select(ChargerOrder.id).where(ChargerOrder.status == "received")),
    )
