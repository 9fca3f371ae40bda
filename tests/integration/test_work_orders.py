"""Work orders end to end on the server: made from a ticket (its story copied), sent to the technician by
e-mail (real SMTP) with a private link, the technician's steps through the link, done only when the
charger is seen working again after the visit began (or with staff's reason), and dead or expired links."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from portal.db import utcnow
from portal.models import ConnectorStatusChange, OutboxEmail, WorkOrder
from portal.services.helpdesk import tickets
from portal.services.helpdesk.tokens import LINK_IDLE_DAYS
from tests.factories import make_user, resident_with_access
from tests.support.mail import run_mail_jobs, text_part

LINK = re.compile(r"http://portal\.test(/visit/[A-Za-z0-9_\-]+)")


@pytest.fixture
def desk(session):
    site, resident, cp = resident_with_access(session)
    site.address, site.postcode, site.city = "Solveien 4", "0150", "Oslo"
    support = make_user(session, "agent@ops.test", staff_role="support")
    opened = tickets.open_ticket(session, category="charger_fault", language="en", requester=resident,
                                 charge_point=cp, description="The display shows E42 and nothing charges")
    session.commit()
    return {"site": site, "cp": cp, "support": support, "ticket": opened.ticket}


def _create(client, session, desk, **extra) -> WorkOrder:
    page = client.get(f"/staff/workorders/new?ticket={desk['ticket'].id}").get_data(as_text=True)
    assert "The display shows E42" in page and desk["cp"].identity in page  # the story and charger copied in
    data = {"charger": desk["cp"].identity, "installer_company": "Elektro Nord AS", "technician_name": "Per",
            "technician_email": "per@elektro.test", "technician_phone": "+47 900 00 000", "language": "en",
            "access_window": "Weekdays 08-16, key at the caretaker",
            "story": "The display shows E42 and nothing charges", "parts_planned": "Type 2 socket", **extra}
    assert client.post(f"/staff/workorders/new?ticket={desk['ticket'].id}", data=data).status_code == 303
    session.expire_all()
    return session.scalars(select(WorkOrder).order_by(WorkOrder.id.desc())).first()


def _send(client, session, smtp, redis_url, order_id) -> str:
    assert client.post(f"/staff/workorders/{order_id}/send").status_code == 303
    run_mail_jobs(redis_url)
    mail = smtp.wait_for(1)[-1]
    assert mail["To"] == "per@elektro.test" and "WO-" in mail["Subject"]
    body = text_part(mail)
    assert "Weekdays 08-16, key at the caretaker" in body and "E42" in body and "Solveien 4" in body
    path = LINK.search(body).group(1)
    session.expire_all()
    kept = session.scalars(select(OutboxEmail).where(OutboxEmail.kind == "work_order")).all()
    assert kept and all(path not in row.body_text for row in kept)  # the sent copy keeps no working link
    return path


def test_from_ticket_to_done_when_the_charger_works_again(client, login, session, desk, smtp, redis_url, app):
    login(client, desk["support"])
    order = _create(client, session, desk)
    assert (order.status, order.ticket_id, order.site_id) == ("draft", desk["ticket"].id, desk["site"].id)
    link = _send(client, session, smtp, redis_url, order.id)
    technician = app.test_client()
    technician.set_cookie("lang", "en")
    page = technician.get(link)
    assert page.status_code == 200 and "Elektro Nord AS" in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "private, no-store"
    # every form of the page needs the page's CSRF token (a token-less post is refused)
    assert technician.post(f"{link}/arrive").status_code == 400
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    empty = technician.post(f"{link}/confirm", data={"csrf_token": token, "when": ""})
    assert empty.status_code == 422 and "Choose the day and time of the visit." in empty.get_data(as_text=True)
    assert technician.post(f"{link}/confirm", data={"csrf_token": token, "when": "2026-12-09T09:30"}).status_code == 303
    session.expire_all()
    assert session.get(WorkOrder, order.id).status == "scheduled"
    assert technician.post(f"{link}/arrive", data={"csrf_token": token}).status_code == 303
    png = io.BytesIO()
    Image.new("RGB", (60, 40), (200, 10, 10)).save(png, "PNG")
    upload = technician.post(f"{link}/photos", data={"csrf_token": token, "photo": (io.BytesIO(png.getvalue()), "e42.png")},
                             content_type="multipart/form-data")
    assert upload.status_code == 303
    missing = technician.post(f"{link}/report", data={"csrf_token": token, "outcome": "", "parts_used": "x"})
    assert missing.status_code == 422 and 'x</textarea>' in missing.get_data(as_text=True)
    # the report before the charger has said anything: saved, the order waits on site
    report = {"csrf_token": token, "outcome": "Replaced the socket", "parts_used": "Type 2 socket"}
    assert technician.post(f"{link}/report", data=report).status_code == 303
    session.expire_all()
    order = session.get(WorkOrder, order.id)
    assert (order.status, order.outcome, len(order.photos)) == ("on_site", "Replaced the socket", 1)
    # an Available from before the visit proves nothing; one after it closes the order at the next report
    session.add_all([
        ConnectorStatusChange(charge_point_id=desk["cp"].id, connector_id=1, status="Available",
                              at=order.arrived_at - timedelta(minutes=5)),
        ConnectorStatusChange(charge_point_id=desk["cp"].id, connector_id=1, status="Faulted",
                              at=order.arrived_at + timedelta(minutes=1))])
    session.commit()
    assert technician.post(f"{link}/report", data=report).status_code == 303
    session.expire_all()
    assert session.get(WorkOrder, order.id).status == "on_site"
    session.add(ConnectorStatusChange(charge_point_id=desk["cp"].id, connector_id=1, status="Available",
                                      at=order.arrived_at + timedelta(minutes=30)))
    session.commit()
    done = technician.post(f"{link}/report", data=report)
    assert done.headers["Location"] == "/visit/finished"
    session.expire_all()
    order = session.get(WorkOrder, order.id)
    assert (order.status, order.close_reason, order.access_token_hash) == ("done", "", None)
    assert technician.get(link).status_code == 404  # a closed order's link opens nothing
    staff_page = client.get(f"/staff/workorders/{order.id}").get_data(as_text=True)
    assert "Replaced the socket" in staff_page and 'data-status="done"' in staff_page
    photo_url = f"/staff/workorders/{order.id}/photos/{order.photos[0].id}"
    assert client.get(photo_url).headers["Content-Type"] == "image/png"


def test_staff_close_without_the_proof_only_with_a_reason(client, login, session, desk, smtp, redis_url):
    login(client, desk["support"])
    order = _create(client, session, desk)
    _send(client, session, smtp, redis_url, order.id)
    refused = client.post(f"/staff/workorders/{order.id}/close", data={"reason": "  "})
    assert refused.status_code == 409
    assert "has not reported itself working" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(WorkOrder, order.id).status == "sent"
    assert client.post(f"/staff/workorders/{order.id}/close",
                       data={"reason": "Fixed by a remote reset"}).status_code == 303
    session.expire_all()
    closed = session.get(WorkOrder, order.id)
    assert (closed.status, closed.close_reason) == ("done", "Fixed by a remote reset")
    assert client.post(f"/staff/workorders/{order.id}/cancel", data={"reason": "x"}).status_code == 409


def test_a_wrong_replaced_or_expired_link_gets_nothing(client, login, session, desk, smtp, redis_url, app):
    login(client, desk["support"])
    order = _create(client, session, desk)
    old = _send(client, session, smtp, redis_url, order.id)
    new = _send(client, session, smtp, redis_url, order.id)  # sent again: the old link stops working
    technician = app.test_client()
    assert technician.get(old).status_code == 404
    assert technician.get("/visit/guessed-token-000000000000").status_code == 404
    assert technician.get(new).status_code == 200
    session.get(WorkOrder, order.id).access_token_used_at = utcnow() - timedelta(days=LINK_IDLE_DAYS + 1)
    session.commit()
    expired = technician.get(new)
    assert expired.status_code == 410 and "Elektro" not in expired.get_data(as_text=True)
    assert technician.get(f"{new}/photos/1").status_code in (404, 410)


def test_a_work_order_from_an_incident_starts_with_its_story(client, login, session, desk):
    from portal.models import Incident

    incident = Incident(site_id=desk["site"].id, charge_point_id=desk["cp"].id, connector_id=1, scope="connector",
                        cause="faulted", error_code="GroundFailure", started_at=utcnow() - timedelta(hours=3),
                        cause_found="Earth fault after heavy rain", downtime_owner="cooperative_power")
    session.add(incident)
    session.commit()
    login(client, desk["support"])
    page = client.get(f"/staff/workorders/new?incident={incident.id}").get_data(as_text=True)
    assert f"Incident #{incident.id}: faulted (connector 1)" in page and "GroundFailure" in page
    assert "Earth fault after heavy rain" in page and f'value="{desk["cp"].identity}"' in page
    assert client.get("/staff/workorders/new?incident=999999").status_code == 404
    assert client.get("/staff/workorders/new?ticket=abc").status_code == 404
