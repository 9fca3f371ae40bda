"""Issue 20, parts 2-4 on the pages: the start screen says the fault is known and takes a "me too"
(a follower, not a ticket), the site's pages show the outage banner and the board its open incidents,
support records what was found and tries a remote step recorded on the incident."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import func, select

from portal import settings
from portal.models import (
    ActionRequest, Incident, IncidentFollower, IncidentStep, SupportTicket, TicketMessage,
)
from portal.services.faults import story
from tests.factories import make_user, resident_with_access

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def faulty(app, session):
    site, resident, cp = resident_with_access(session)
    board = make_user(session, "board-x@example.test", site=site, role="board")
    support = make_user(session, "support-x@example.test", staff_role="support")
    incident = Incident(site_id=site.id, charge_point_id=cp.id, connector_id=1, scope="connector", cause="faulted",
                        error_code="GroundFailure", open_key=f"cp:{cp.id}:1:faulted", started_at=T0, last_event_at=T0)
    session.add(incident)
    session.flush()
    with app.app_context():
        story.open_ticket(session, incident)
    session.commit()
    return {"site": site, "resident": resident, "cp": cp, "board": board, "support": support, "incident": incident}


def test_start_screen_says_the_fault_is_known_and_me_too_follows_the_ticket(client, login, db, faulty):
    login(client, faulty["resident"])
    page = client.get(f"/c/{faulty['cp'].identity}").get_data(as_text=True)
    assert 'data-testid="incident-note"' in page and "known fault" in page and "Support knows" in page
    url = f"/c/{faulty['cp'].identity}/incidents/{faulty['incident'].id}/me-too"
    for _ in range(2):  # twice: still one follower
        assert client.post(url).status_code in (302, 303)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(IncidentFollower)) == 1
        assert s.scalar(select(func.count()).select_from(SupportTicket)) == 1  # no new ticket
        note = s.scalars(select(TicketMessage).where(TicketMessage.body.like("Me too%"))).one()
        assert note.internal and faulty["resident"].email in note.body
    page = client.get(f"/c/{faulty['cp'].identity}").get_data(as_text=True)
    assert 'data-testid="me-too-done"' in page


def test_me_too_on_an_incident_of_another_charger_is_refused(client, login, db, session, faulty):
    other_site, other_resident, other_cp = resident_with_access(session)
    session.commit()
    login(client, other_resident)
    response = client.post(f"/c/{other_cp.identity}/incidents/{faulty['incident'].id}/me-too")
    assert response.status_code == 404
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(IncidentFollower)) == 0


def test_site_pages_show_the_outage_and_the_board_its_open_incidents(client, login, session, faulty):
    site = faulty["site"]
    session.add(Incident(site_id=site.id, scope="site", cause="site_dark", open_key=f"site:{site.id}:site_dark",
                         started_at=T0, last_event_at=T0))
    session.commit()
    login(client, faulty["resident"])
    assert 'data-testid="outage-banner"' in client.get(f"/sites/{site.slug}").get_data(as_text=True)
    login(client, faulty["board"])
    page = client.get(f"/manage/{site.slug}/").get_data(as_text=True)
    assert 'data-testid="outage-banner"' in page and 'data-testid="site-incidents"' in page
    assert "The charger reports a fault" in page and "Every charger at the site went offline" in page


def test_support_records_the_cause_and_whose_downtime_and_tries_a_step(client, login, db, redis_url, faulty):
    Queue(settings.CHARGER_QUEUE, connection=Redis.from_url(redis_url)).empty()
    login(client, faulty["support"])
    incident_id = faulty["incident"].id
    page = client.get("/staff/incidents").get_data(as_text=True)
    assert f'data-incident="{incident_id}"' in page
    page = client.get(f"/staff/incidents/{incident_id}").get_data(as_text=True)
    assert "earth fault" in page and 'data-step="soft_reset"' in page
    bad = client.post(f"/staff/incidents/{incident_id}/findings", data={"downtime_owner": "grid", "cause_found": " "})
    assert bad.status_code == 422 and "Say what you found." in bad.get_data(as_text=True)
    ok = client.post(f"/staff/incidents/{incident_id}/findings",
                     data={"downtime_owner": "cooperative_power", "cause_found": "Fuse 3 in the garage tripped"})
    assert ok.status_code in (302, 303)
    assert client.post(f"/staff/incidents/{incident_id}/steps/soft_reset").status_code in (302, 303)
    with db.session() as s:
        incident = s.get(Incident, incident_id)
        assert (incident.downtime_owner, incident.cause_found) == ("cooperative_power", "Fuse 3 in the garage tripped")
        step = s.scalars(select(IncidentStep)).one()
        action = s.get(ActionRequest, step.action_request_id)
        assert (step.step, action.action, action.payload) == ("soft_reset", "Reset", {"type": "Soft"})
    assert Queue(settings.CHARGER_QUEUE, connection=Redis.from_url(redis_url)).count == 1
    page = client.get(f"/staff/incidents/{incident_id}").get_data(as_text=True)
    assert 'data-testid="incident-steps"' in page
