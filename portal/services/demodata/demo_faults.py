"""The demo's open incident (issue 20): starts keep failing at CP-DEMO-2, support has a ticket about it,
and the start screen says the fault is known. It stays open until a session there delivers energy."""
from __future__ import annotations

from datetime import timedelta

from flask import has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import ChargePoint, Incident
from portal.services.faults import incidents as inc
from portal.services.faults import story


def seed_incident(session: Session) -> None:
    cp = session.scalar(select(ChargePoint).where(ChargePoint.identity == "CP-DEMO-2"))
    if cp is None or session.scalar(select(Incident.id).where(
            Incident.charge_point_id == cp.id, Incident.cause == "failed_starts")) is not None:
        return  # seeded before (the work order's demo fault on the same charger is another, resolved one)
    now = utcnow()
    where = inc.Where(cp.site_id, cp.id, 1)
    incident, _created = inc.report(session, where, "failed_starts",
                                    inc.Seen(now - timedelta(hours=3), now - timedelta(hours=2), 3), now)
    if has_app_context():  # the ticket is written in the site's language
        story.open_ticket(session, incident)
