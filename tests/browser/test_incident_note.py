"""On a phone: the start screen of a charger with an open incident says the fault is known and since
when; "It affects me too" makes the resident a follower (once), and the page says so."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from portal.models import Incident, IncidentFollower
from tests.factories import PASSWORD, make_charge_point, make_site, make_user, standard_setup, subscribe
from tests.support.browser import assert_no_horizontal_scroll

IDENTITY = "CP-FAULT-1"


@pytest.fixture
def resident(session):
    site = make_site(session, "fault-homes", name="Fault Homes borettslag")
    group, plan = standard_setup(session, site, fee="2.90")
    user = make_user(session, "metoo@fault.test", site=site)
    subscribe(session, user, plan)
    cp = make_charge_point(session, site, IDENTITY, group=group)
    at = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
    session.add(Incident(site_id=site.id, charge_point_id=cp.id, connector_id=1, scope="connector",
                         cause="faulted", error_code="GroundFailure", open_key=f"cp:{cp.id}:1:faulted",
                         started_at=at, last_event_at=at))
    session.commit()
    return user


def test_the_known_fault_and_me_too_on_a_phone(page, live_server, resident, db):
    page.context.add_cookies([{"name": "lang", "value": "en", "url": live_server}])
    page.goto(f"{live_server}/login?next=/c/{IDENTITY}")
    page.locator("input[name=email]").fill(resident.email)
    page.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("form[data-testid=login-form] button[type=submit]").click()
    note = page.get_by_test_id("incident-note")
    note.wait_for()
    assert "known fault" in note.inner_text() and "Support knows" in note.inner_text()
    assert_no_horizontal_scroll(page)
    with page.expect_navigation():
        page.get_by_test_id("me-too").click()
    page.get_by_test_id("me-too-done").wait_for()
    assert page.get_by_test_id("me-too").count() == 0
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(IncidentFollower)) == 1
