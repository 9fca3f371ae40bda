"""The resident's daily walk on a phone (390x844) against the real stack: web, RQ worker, OCPP server
and a simulated charger over real OCPP.

log in → open a charge point → add to favourites → open Favourites → tap it → start → "charging"
with kWh rising → stop → receipt with the right cost.
"""
from __future__ import annotations

import time
from decimal import Decimal

import pytest

from portal.models import ChargePoint, Transaction
from portal.services.billing.pricing import format_money, session_cost
from tests.factories import CHARGER_SECRET, make_site, make_user, standard_setup, subscribe
from tests.support.browser import assert_no_horizontal_scroll, run_axe
from tests.support.stack import Stack, wait_for_db

IDENTITY = "CP-RES-STACK-1"


@pytest.fixture
def resident(session):
    site = make_site(session, "stack-homes", name="Stack Homes borettslag")
    group, plan = standard_setup(session, site, fee="3.20")
    user = make_user(session, "driver@stack.test", site=site)
    subscribe(session, user, plan)
    from portal.services.sites.onboarding import add_charge_point

    cp = add_charge_point(session, IDENTITY, site, CHARGER_SECRET, 1, name="Garage C, space 7")
    cp.tariff_group_id = group.id
    session.commit()
    return user, cp.id


def test_start_follow_stop_and_receipt(page, live_server, resident, db, database_url, redis_url):
    user, cp_id = resident
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    with Stack(env) as stack:
        node = stack.ocpp_node("res-node")
        stack.worker()
        stack.simulator(node.url, IDENTITY, CHARGER_SECRET, connectors=1,
                        extra_args=["--meter-interval", "1", "--power", "22"])
        wait_for_db(db, lambda s: s.get(ChargePoint, cp_id).online and all(
            c.status == "Available" for c in s.get(ChargePoint, cp_id).outlets))

        # log in from the charger's address, as when scanning its sticker
        page.context.add_cookies([{"name": "lang", "value": "en", "url": live_server}])
        page.goto(f"{live_server}/c/{IDENTITY}")
        page.get_by_test_id("login-link").click()
        form = page.get_by_test_id("login-form")
        form.get_by_label("E-mail").fill("driver@stack.test")
        form.get_by_label("Password").fill("correct-horse-battery")
        with page.expect_navigation():
            form.get_by_role("button", name="Log in").click()
        page.get_by_test_id("start-screen").wait_for()
        assert page.get_by_test_id("price-per-kwh").inner_text() == "3.20 kr/kWh"

        # favourite, then back through the main menu
        page.get_by_test_id("favourite-toggle").get_by_role("button").click()
        page.locator('[data-testid="favourite-toggle"][data-favourite="yes"]').wait_for()
        page.locator('[data-testid="main-menu"] summary').click()
        page.locator('[data-testid="main-menu"] nav').get_by_role("link", name="Favourites").click()
        page.locator(f'a[data-identity="{IDENTITY}"]').click()
        page.get_by_test_id("start-screen").wait_for()

        # start and follow the request until the charger reports charging
        page.get_by_test_id("start-button").click()
        page.wait_for_url("**/charging/*")
        live = page.get_by_test_id("live-session")
        page.locator('[data-testid="live-session"][data-state="charging"]').wait_for(timeout=30_000)
        assert page.get_by_test_id("state-title").inner_text() == "Charging"
        first = int(page.get_by_test_id("energy").get_attribute("data-wh"))
        deadline = time.monotonic() + 20
        while int(page.get_by_test_id("energy").get_attribute("data-wh")) <= first:
            assert time.monotonic() < deadline, "kWh did not rise"
            page.wait_for_timeout(500)
        assert "kW" in page.get_by_test_id("power").inner_text()
        assert_no_horizontal_scroll(page)
        assert run_axe(page) == []

        # stop, then the receipt replaces the live figures
        page.get_by_test_id("stop-button").click()
        page.locator('[data-testid="live-session"][data-state="finished"]').wait_for(timeout=30_000)
        assert live.get_by_test_id("receipt").is_visible()
        with db.session() as s:
            tx = s.query(Transaction).filter_by(user_id=user.id).one()
            assert tx.status == "completed" and tx.energy_wh > 0
            expected = session_cost(tx.energy_wh, Decimal("3.20"), 0, 2500)
            assert (tx.cost_minor, tx.vat_minor) == (expected.total_minor, expected.vat_minor)
        assert page.get_by_test_id("receipt-total").inner_text() == format_money(expected.total_minor, "NOK", "en")
        assert page.get_by_test_id("receipt-vat").inner_text() == format_money(expected.vat_minor, "NOK", "en")
        assert_no_horizontal_scroll(page)
        assert run_axe(page) == []


@pytest.fixture
def no_js_page(browser):
    from tests.support.browser import PHONE

    context = browser.new_context(**dict(PHONE, java_script_enabled=False))
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def reload_until(page, selector: str, timeout: float = 30.0) -> None:
    """Without JavaScript nothing polls: the resident reloads (the page offers a Refresh link)."""
    deadline = time.monotonic() + timeout
    while page.locator(selector).count() == 0:
        assert time.monotonic() < deadline, f"{selector} not shown in time"
        page.wait_for_timeout(700)
        page.reload()


def test_start_and_stop_without_javascript(no_js_page, live_server, resident, db, database_url, redis_url):
    page = no_js_page
    user, cp_id = resident
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    with Stack(env) as stack:
        node = stack.ocpp_node("res-node-nojs")
        stack.worker()
        stack.simulator(node.url, IDENTITY, CHARGER_SECRET, connectors=1, extra_args=["--meter-interval", "1"])
        wait_for_db(db, lambda s: s.get(ChargePoint, cp_id).online and all(
            c.status == "Available" for c in s.get(ChargePoint, cp_id).outlets))
        page.context.add_cookies([{"name": "lang", "value": "en", "url": live_server}])
        page.goto(f"{live_server}/login?next=/c/{IDENTITY}")
        form = page.get_by_test_id("login-form")
        form.get_by_label("E-mail").fill("driver@stack.test")
        form.get_by_label("Password").fill("correct-horse-battery")
        form.get_by_role("button", name="Log in").click()
        page.get_by_test_id("start-screen").wait_for()
        page.get_by_test_id("start-button").click()
        page.wait_for_url("**/charging/*")
        reload_until(page, '[data-testid="live-session"][data-state="charging"]')
        page.get_by_test_id("stop-button").click()
        page.wait_for_url("**/sessions/*")
        reload_until(page, '[data-testid="receipt"]')
        with db.session() as s:
            tx = s.query(Transaction).filter_by(user_id=user.id).one()
        assert page.get_by_test_id("receipt-total").get_attribute("data-minor") == str(tx.cost_minor)
