"""The demo data has one open incident (issue 20), with its ticket, once however often it is seeded."""
from __future__ import annotations

from sqlalchemy import select

from portal.models import ChargePoint, Incident, SupportTicket


def test_seed_demo_has_one_open_incident_with_a_ticket(app, session):
    runner = app.test_cli_runner()
    for _ in range(2):
        assert runner.invoke(args=["seed-demo"]).exit_code == 0
    session.expire_all()
    incidents = session.scalars(select(Incident).where(Incident.status != "resolved")).all()  # the work order's is over
    assert len(incidents) == 1 and incidents[0].status == "open"
    assert session.get(ChargePoint, incidents[0].charge_point_id).identity == "CP-DEMO-2"
    ticket = session.get(SupportTicket, incidents[0].ticket_id)
    assert ticket.category == "charger_fault" and ticket.language == "nb"
