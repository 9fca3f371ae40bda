"""Demo data for uptime and work orders: CP-DEMO-2's fault last week as the status record shows it (an
incident owned by us), and the finished work order of the technician who fixed it.

Safe to load twice: nothing is added when the demo work order exists.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import (
    ChargePoint, ChargerConnectionChange, ConnectorStatusChange, Incident, SupportTicket, WorkOrder,
)
from portal.services.demodata.demo_help import DEMO_TICKET_SUBJECT
from portal.services.workorders.orders import story_of_ticket

DEMO_INSTALLER = "Elektro Demo AS"


def seed_work_order(session: Session) -> None:
    """A fault, its incident and the done work order (flush only)."""
    if session.scalar(select(WorkOrder.id).where(WorkOrder.installer_company == DEMO_INSTALLER)):
        return
    cp = session.scalar(select(ChargePoint).where(ChargePoint.identity == "CP-DEMO-2"))
    if cp is None:
        return
    ticket = session.scalar(select(SupportTicket).where(SupportTicket.subject == DEMO_TICKET_SUBJECT))
    now = utcnow().replace(microsecond=0)
    faulted, arrived = now - timedelta(days=9, hours=3), now - timedelta(days=8)
    fixed = arrived + timedelta(minutes=50)
    session.add_all([
        ChargerConnectionChange(charge_point_id=cp.id, state="connected", at=now - timedelta(days=60)),
        ConnectorStatusChange(charge_point_id=cp.id, connector_id=1, status="Available", at=now - timedelta(days=60)),
        ConnectorStatusChange(charge_point_id=cp.id, connector_id=1, status="Faulted", error_code="GroundFailure",
                              at=faulted),
        ConnectorStatusChange(charge_point_id=cp.id, connector_id=1, status="Available", at=fixed),
    ])
    incident = Incident(site_id=cp.site_id, charge_point_id=cp.id, connector_id=1, scope="connector", cause="faulted",
                        error_code="GroundFailure", status="resolved", started_at=faulted, opened_at=faulted,
                        last_event_at=fixed, resolved_at=fixed, resolved_by="charger",
                        ticket_id=ticket.id if ticket else None, downtime_owner="operator",
                        cause_found="Loose earth wire in the charger (our installation).")
    session.add(incident)
    session.flush()
    session.add(WorkOrder(
        site_id=cp.site_id, charge_point_id=cp.id, incident_id=incident.id, ticket_id=ticket.id if ticket else None,
        status="done", installer_company=DEMO_INSTALLER, technician_name="Tor Tekniker",
        technician_email="tor@elektro-demo.test", technician_phone="+47 400 00 000", language="nb",
        access_window="Hverdager 08–16, nøkkel hos vaktmester", story=story_of_ticket(ticket) if ticket else "",
        parts_planned="Jordkabel, kabelsko", scheduled_for=arrived, arrived_at=arrived, sent_at=faulted + timedelta(hours=2),
        outcome="Jordledningen satt løst i laderen. Strammet og målt; laderen lader igjen.",
        parts_used="Kabelsko 10 mm²", closed_at=fixed + timedelta(minutes=5)))
    session.flush()
