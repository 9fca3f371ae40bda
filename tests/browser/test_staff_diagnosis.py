"""The staff charger page, audit log and sales pages on a 390 px phone, in bokmål, Swedish and English: the charger
page of a charger with 2,000 logged messages scrolls only downwards (also with a message opened), and axe finds
nothing on the charger, audit, lead and order pages."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from portal.db import utcnow
from portal.models import OcppMessage
from portal.services.sales import leads, orders
from portal.services.sites import audit
from tests.factories import PASSWORD, make_user, resident_with_access
from tests.support.browser import run_axe

LANGUAGES = ("nb", "sv", "en")
WIDE = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _frames(identity: str, count: int) -> list[dict]:
    rows = []
    for n in range(count):
        uid = f"{identity}-{n}"
        payload = {"connectorId": 1, "transactionId": 7, "meterValue": [{"timestamp": "2026-12-07T10:00:00+00:00",
                   "sampledValue": [{"value": str(1000 + n), "measurand": "Energy.Active.Import.Register",
                                     "unit": "Wh", "context": "Sample.Periodic", "location": "Outlet"},
                                    {"value": "7.2", "measurand": "Power.Active.Import", "unit": "kW"}]}]}
        frame = json.dumps([2, uid, "MeterValues", payload], separators=(",", ":"))
        rows.append(dict(identity=identity, direction="in", frame=frame, action="MeterValues", message_type=2,
                         unique_id=uid, created_at=utcnow() - timedelta(seconds=2 * (count - n))))
        rows.append(dict(identity=identity, direction="out", frame=f'[3,"{uid}",{{}}]', action=None, message_type=3,
                         unique_id=uid, created_at=utcnow() - timedelta(seconds=2 * (count - n) - 1)))
    return rows


@pytest.fixture
def world(session):
    site, user, cp = resident_with_access(session)
    admin = make_user(session, staff_role="admin")
    session.execute(OcppMessage.__table__.insert(), _frames(cp.identity, 1000))
    session.add(OcppMessage(identity=cp.identity, direction="in", action="StatusNotification", message_type=2,
                            unique_id="st-1", frame='[2,"st-1","StatusNotification",{"connectorId":1,"errorCode":'
                                                    '"EVCommunicationError","status":"SuspendedEVSE"}]'))
    lead = leads.create_lead(session, leads.LeadRequest(
        org_type="housing_cooperative", org_name="Fjellsiden Borettslag", org_number="923609016",
        contact_name="Kari Styreleder", contact_role="chair", email="kari@fjell.test", phone="", parking_spaces=40,
        kind="new_installation", message="We want chargers", language="nb"))
    site.agreement_status = "active"
    placed = orders.place_order(session, site, name="Per Beboer", email="per@home.test", phone="",
                                parking_space="P17", charger_model="", language="sv")
    audit.record(session, admin, site.id, "site", site.id, "agreement", before={"agreement_status": "none"},
                 after={"agreement_status": "active"}, area="staff", reason="signed")
    session.commit()
    return dict(cp=cp, admin=admin, lead=lead, order=placed.order)


def _log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("form[data-testid=login-form] button[type=submit]").click()


@pytest.mark.parametrize("language", LANGUAGES)
def test_staff_pages_fit_a_phone_and_pass_axe(page, live_server, world, language):
    page.context.add_cookies([{"name": "lang", "value": language, "url": live_server}])
    _log_in(page, live_server, world["admin"].email)
    assert page.viewport_size["width"] == 390
    charger = f"/staff/chargers/{world['cp'].identity}"
    response = page.goto(live_server + charger)
    assert response.status == 200 and len(response.body()) < 200_000
    assert page.locator("[data-testid=message-log] li[data-message]").count() == 50
    assert page.evaluate(WIDE) <= 0, "the charger page scrolls sideways"
    row = page.locator("[data-testid=message-log] li[data-message]").first
    row.locator("summary").click()
    row.locator("pre.payload-full").wait_for()
    assert '"errorCode": "EVCommunicationError"' in row.locator("pre.payload-full").inner_text()
    assert page.evaluate(WIDE) <= 0, "an opened message scrolls sideways"
    problems = {}
    for path in (charger, "/staff/audit", "/staff/leads", f"/staff/leads/{world['lead'].id}", "/staff/orders",
                 f"/staff/orders/{world['order'].id}"):
        response = page.goto(live_server + path)
        assert response.status == 200, path
        assert page.locator("html").get_attribute("lang") == language
        if page.evaluate(WIDE) > 0:
            problems[path] = "scrolls sideways"
        violations = run_axe(page)
        if violations:
            problems[path] = violations
    assert problems == {}
