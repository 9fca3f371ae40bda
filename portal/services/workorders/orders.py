"""Work orders, staff side: create from a ticket or an incident (the fault's story copied in), send to
the technician (a private link by e-mail), close and cancel. Flask-free except the e-mail rendering
(needs an app context); every function flushes, the caller commits, then enqueues the outbox ids.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import (
    ChargePoint, Connector, ConnectorStatusChange, Incident, OutboxEmail, SupportTicket, User, WorkOrder,
)
from portal.services.helpdesk.tokens import LINK_IDLE_DAYS, issue
from portal.services.workorders.states import WORKING_STATUSES, close_status, next_status

EDITABLE = ("installer_company", "technician_name", "technician_email", "technician_phone", "language",
            "access_window", "story", "parts_planned")


@dataclass
class Sent:
    order: WorkOrder
    token: str
    outbox: OutboxEmail


def story_of_ticket(ticket: SupportTicket) -> str:
    """The ticket's public thread as plain text (staff notes left out), oldest first."""
    lines = [f"{ticket.reference} {ticket.subject}".strip()]
    for message in ticket.messages:
        if not message.internal:
            lines.append(f"[{message.created_at:%Y-%m-%d %H:%M} UTC] {message.body.strip()}")
    return "\n\n".join(lines)


def story_of_incident(incident: Incident) -> str:
    codes = " / ".join(c for c in (incident.error_code, incident.vendor_error_code, incident.info) if c)
    where = f"connector {incident.connector_id}" if incident.connector_id else incident.scope
    lines = [f"Incident #{incident.id}: {incident.cause} ({where}) since {incident.started_at:%Y-%m-%d %H:%M} UTC,"
             f" {incident.events} event(s). {codes}".strip()]
    if incident.cause_found:
        lines.append(incident.cause_found.strip())
    return "\n\n".join(lines)


def draft_from_ticket(ticket: SupportTicket) -> dict:
    """What a new work order starts with when made from a ticket (the form shows it for editing)."""
    cp = ticket.charge_point
    return {"site_id": ticket.site_id or (cp.site_id if cp else None), "charge_point_id": cp.id if cp else None,
            "ticket_id": ticket.id, "story": story_of_ticket(ticket)}


def draft_from_incident(incident: Incident) -> dict:
    return {"site_id": incident.site_id, "charge_point_id": incident.charge_point_id, "incident_id": incident.id,
            "ticket_id": incident.ticket_id, "story": story_of_incident(incident)}


def create(session: Session, actor: User, charge_point: ChargePoint, *, ticket_id: int | None = None,
           incident_id: int | None = None, **fields) -> WorkOrder:
    """A draft work order for a charger (flush only)."""
    order = WorkOrder(site_id=charge_point.site_id, charge_point_id=charge_point.id, ticket_id=ticket_id,
                      incident_id=incident_id, status="draft", created_by_id=actor.id,
                      **{k: (v or "").strip() for k, v in fields.items() if k in EDITABLE})
    session.add(order)
    session.flush()
    return order


def send(session: Session, order: WorkOrder) -> Sent:
    """A new private link to the technician by e-mail (the old one stops working); draft becomes sent."""
    if not order.technician_email:
        raise ValueError("no technician e-mail")
    order.status = next_status(order.status, "send")
    token = issue(order)
    order.sent_at = utcnow()
    session.flush()
    return Sent(order, token, queue_link_email(session, order, token))


def queue_link_email(session: Session, order: WorkOrder, token: str) -> OutboxEmail:
    from portal.services.people.mail import portal_url, queue_templated_email

    return queue_templated_email(
        session, to=order.technician_email, template="work_order", language=order.language, kind="work_order",
        order=order, site=order.site, cp=order.charge_point, days=LINK_IDLE_DAYS,
        link=portal_url("technician.order", token=token))


def seen_working_at(session: Session, order: WorkOrder) -> datetime | None:
    """The first time the charger said a connector was Available or Charging after the technician arrived
    (the status record, else the connector's current status if it changed since)."""
    if order.arrived_at is None or order.charge_point_id is None:
        return None
    found = session.scalar(select(ConnectorStatusChange.at).where(
        ConnectorStatusChange.charge_point_id == order.charge_point_id, ConnectorStatusChange.connector_id >= 1,
        ConnectorStatusChange.status.in_(WORKING_STATUSES), ConnectorStatusChange.at >= order.arrived_at)
        .order_by(ConnectorStatusChange.at).limit(1))
    if found is not None:
        return found
    return session.scalar(select(Connector.status_at).where(
        Connector.charge_point_id == order.charge_point_id, Connector.connector_id >= 1,
        Connector.status.in_(WORKING_STATUSES), Connector.status_at >= order.arrived_at)
        .order_by(Connector.status_at).limit(1))


def close(session: Session, order: WorkOrder, reason: str = "") -> WorkOrder:
    """Done, when the charger was seen working since the visit began or staff say why (TransitionError)."""
    order.status = close_status(order.status, order.arrived_at, seen_working_at(session, order), reason)
    order.close_reason = (reason or "").strip()
    _finish(order)
    session.flush()
    return order


def try_close_after_report(session: Session, order: WorkOrder) -> bool:
    """After the technician's report: close at once if the charger already works again."""
    if order.status != "on_site" or seen_working_at(session, order) is None:
        return False
    close(session, order)
    return True


def cancel(session: Session, order: WorkOrder, reason: str) -> WorkOrder:
    order.status = next_status(order.status, "cancel")
    order.close_reason = reason.strip()
    _finish(order)
    session.flush()
    return order


def _finish(order: WorkOrder) -> None:
    """A closed order's link stops working: nothing is left for the technician to do."""
    order.closed_at = utcnow()
    order.access_token_hash = None


def site_orders(session: Session, site_id: int | None = None, statuses: tuple[str, ...] | None = None) -> list[WorkOrder]:
    query = select(WorkOrder).order_by(WorkOrder.id.desc())
    if site_id is not None:
        query = query.where(WorkOrder.site_id == site_id)
    if statuses:
        query = query.where(WorkOrder.status.in_(statuses))
    return list(session.scalars(query.limit(500)))
