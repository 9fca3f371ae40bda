"""Charger orders from residents at sites with an operating agreement.

Flask-free; functions flush, the caller commits and then enqueues the returned outbox ids.
Status machine (``portal.models.sales.ORDER_STATUSES``):
received -> installer_booked -> installed -> configured; any state but configured -> cancelled.

Who may read an order: the signed-in user who placed it, the holder of its private link
(the confirmation e-mail), and sales staff or operator admins.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import ChargerOrder, OutboxEmail, Site, User
from portal.models.sales import ORDER_STATUSES
from portal.services.helpdesk.tokens import hash_token, issue, link_token

NEXT = {"received": "installer_booked", "installer_booked": "installed", "installed": "configured"}


class OrderError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Placed:
    order: ChargerOrder
    token: str
    outbox_ids: list[int] = field(default_factory=list)


def can_order(site: Site) -> bool:
    """Only a cooperative with an active operating agreement takes orders."""
    return site.agreement_status == "active"


def offered_models(site: Site) -> list[str]:
    """The charger models offered at the site (one per line in the site's settings)."""
    return [line.strip() for line in (site.order_charger_model or "").replace(";", "\n").splitlines()
            if line.strip()]


def included_items(site: Site) -> list[str]:
    """What the site's price includes, one item per line in the site's settings."""
    return [line.strip(" -*\t") for line in (site.order_included or "").splitlines() if line.strip(" -*\t")]


def place_order(session: Session, site: Site, *, name: str, email: str, phone: str, parking_space: str,
                charger_model: str, language: str, user: User | None = None) -> Placed:
    """Store an order with status ``received`` and a private link token for the confirmation e-mail."""
    if not can_order(site):
        raise OrderError("no_agreement")
    models = offered_models(site)
    if models and charger_model not in models:
        raise OrderError("unknown_model")
    order = ChargerOrder(
        status="received", site_id=site.id, user_id=user.id if user else None, name=name.strip()[:120],
        email=email.strip()[:254], phone=phone.strip()[:32], parking_space=parking_space.strip()[:40],
        charger_model=charger_model[:120], language=language if language in ("nb", "sv", "en") else "nb",
        consent_at=utcnow(),
    )
    token = issue(order)
    session.add(order)
    session.flush()
    return Placed(order, token)


def queue_order_emails(session: Session, order: ChargerOrder, order_url: str, sales_address: str,
                       sales_language: str = "nb") -> list[OutboxEmail]:
    """Confirmation to the resident with the private link, and a notice to sales. Needs an app context."""
    from portal.services.people.mail import queue_templated_email

    rows = [queue_templated_email(session, to=order.email, template="order_confirmation",
                                  language=order.language, order=order, site=order.site, order_url=order_url)]
    if sales_address:
        rows.append(queue_templated_email(session, to=sales_address, template="order_notification",
                                          language=sales_language, order=order, site=order.site))
    return rows


def tracking_url(order: ChargerOrder) -> str | None:
    """The order's tracking page for an e-mail: its private link (the same one as in the confirmation),
    or the signed-in requester's page when the link was withdrawn. Needs an app context."""
    from portal.services.people.mail import portal_url

    token = link_token(order)
    if token:
        return portal_url("sales.order_by_token", token=token)
    return portal_url("sales.order_status", order_id=order.id) if order.user_id else None


def change_status(session: Session, order: ChargerOrder, status: str, actor: User) -> None:
    """Sales record progress; a configured order is done and cannot be cancelled."""
    _require_sales(actor)
    if status not in ORDER_STATUSES:
        raise OrderError("invalid_status")
    if order.status == "configured" and status == "cancelled":
        raise OrderError("done")
    order.status = status
    order.updated_at = utcnow()
    session.flush()


def assign(session: Session, order: ChargerOrder, assignee: User | None, actor: User) -> None:
    _require_sales(actor)
    if assignee is not None and not assignee.is_sales:
        raise OrderError("not_sales")
    order.assignee_id = assignee.id if assignee else None
    order.updated_at = utcnow()
    session.flush()


def set_notes(session: Session, order: ChargerOrder, notes: str, actor: User) -> None:
    _require_sales(actor)
    order.notes = notes.strip()[:10000]
    order.updated_at = utcnow()
    session.flush()


def can_view(user: User | None, order: ChargerOrder) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return user.is_sales or (order.user_id is not None and order.user_id == user.id)


def order_by_token(session: Session, token: str) -> ChargerOrder | None:
    if not token or len(token) > 100:
        return None
    return session.scalar(select(ChargerOrder).where(ChargerOrder.access_token_hash == hash_token(token)))


def orders_of(session: Session, user: User) -> list[ChargerOrder]:
    return list(session.scalars(select(ChargerOrder).where(ChargerOrder.user_id == user.id)
                                .order_by(ChargerOrder.created_at.desc())))


def _require_sales(user: User) -> None:
    if user is None or not user.is_sales:
        raise OrderError("not_sales")


ORDERING_FIELDS = ("address", "postcode", "city", "order_delivery_time", "order_charger_model", "order_price",
                   "order_included", "order_instructions")


def update_ordering_settings(session: Session, site: Site, actor: User, **values: str) -> bool:
    """The board (or staff) edits what the ordering portal says about the site; audited. True if changed."""
    from portal.services.sites import audit

    before = audit.snapshot(site, ORDERING_FIELDS)
    for name in ORDERING_FIELDS:
        if name in values:
            setattr(site, name, (values[name] or "").strip())
    after = audit.snapshot(site, ORDERING_FIELDS)
    if not audit.changed(before, after):
        return False
    site.refresh_search_text()
    audit.record(session, actor, site.id, "site", site.id, "ordering", before, after)
    session.flush()
    return True


def recent_orders(session: Session, status: str | None = None, limit: int = 200) -> list[ChargerOrder]:
    """Orders for the sales list, newest first (optionally one status)."""
    query = select(ChargerOrder).order_by(ChargerOrder.created_at.desc(), ChargerOrder.id.desc()).limit(limit)
    if status:
        query = query.where(ChargerOrder.status == status)
    return list(session.scalars(query))
