"""The start screen heals itself on a phone: a simulated charger connects over real OCPP while the
resident looks at the refusal, and the start button appears without a reload; unchanged polls cost 304s."""
from __future__ import annotations

import pytest

from portal.models import ChargePoint
from portal.services.sites.onboarding import add_charge_point
from tests.factories import CHARGER_SECRET, PASSWORD, make_site, make_user, standard_setup, subscribe
from tests.support.stack import Stack, wait_for_db

IDENTITY = "CP-HEAL-1"


@pytest.fixture
def resident(session):
    site = make_site(session, "heal-homes", name="Heal Homes borettslag")
    group, plan = standard_setup(session, site, fee="2.90")
    user = make_user(session, "healer@heal.test", site=site)
    subscribe(session, user, plan)
    cp = add_charge_point(session, IDENTITY, site, CHARGER_SECRET, 1, name="Garage H, space 1")
    cp.tariff_group_id = group.id
    session.commit()
    return user, cp.id


def test_start_button_returns_when_the_charger_reconnects(page, live_server, resident, db, database_url,
                                                          redis_url):
    user, cp_id = resident
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if f"/c/{IDENTITY}" in r.url
            and r.request.headers.get("hx-request") else None)
    page.context.add_cookies([{"name": "lang", "value": "en", "url": live_server}])
    page.goto(f"{live_server}/login?next=/c/{IDENTITY}")
    page.locator("input[name=email]").fill(user.email)
    page.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("form[data-testid=login-form] button[type=submit]").click()
    page.get_by_test_id("start-screen").wait_for()
    refusal = page.get_by_test_id("refusal")
    assert refusal.get_attribute("data-reason") == "offline"
    assert page.get_by_test_id("start-button").count() == 0
    # Nothing changes while the charger is away: the polls are answered with 304 and never swapped.
    page.wait_for_event("response", lambda r: r.status == 304, timeout=15_000)
    assert page.get_by_test_id("refusal").get_attribute("data-reason") == "offline"

    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    with Stack(env) as stack:
        node = stack.ocpp_node("heal-node")
        stack.simulator(node.url, IDENTITY, CHARGER_SECRET, connectors=1)
        wait_for_db(db, lambda s: s.get(ChargePoint, cp_id).online and all(
            c.status == "Available" for c in s.get(ChargePoint, cp_id).outlets))
        # No reload: the live fragment swaps itself once its ETag changes (polls back off to at most 8 s).
        page.get_by_test_id("start-button").wait_for(timeout=20_000)
        assert page.get_by_test_id("refusal").count() == 0
        assert page.get_by_test_id("outlet").first.get_attribute("data-state") == "available"
    assert 304 in statuses and 200 in statuses
