"""Resident pages on a phone (390x844): every page fits 360 px and passes axe; refusals are clear;
the essentials work with JavaScript turned off. Runs against the web app alone (no charger needed)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.models import ActionRequest, Favourite, IdTag, Transaction, UserSubscription
from tests.factories import (
    PASSWORD, make_charge_point, make_site, make_user, resident_with_access, standard_setup,
)
from tests.support.browser import PHONE, assert_no_horizontal_scroll, run_axe


@pytest.fixture
def world(session):
    site, user, cp = resident_with_access(session)
    site.name, cp.name = "Solhøgda borettslag", "Garage A, space 1"
    two = make_charge_point(session, site, "CP-BR-TWO", connectors=2, group=cp.tariff_group, name="Garage A, spaces 2–3")
    other = make_site(session, name="Hidden Heights")
    group, _ = standard_setup(session, other)
    foreign = make_charge_point(session, other, "CP-BR-FOREIGN", group=group, name="Secret garage")
    user.email = f"browser-{user.id}@example.test"
    board = make_user(session, site=site, role="board")
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="T", user_id=user.id, status="completed",
                     start_key=f"br-{cp.id}", meter_start_wh=1000, meter_stop_wh=13345, energy_wh=12345,
                     started_at=datetime(2025, 3, 1, 18, tzinfo=timezone.utc),
                     stopped_at=datetime(2025, 3, 1, 20, tzinfo=timezone.utc), tariff_name="Residents",
                     energy_fee=Decimal("3.20"), cost_minor=3950, vat_minor=790, stop_key=f"brs-{cp.id}")
    session.add(tx)
    session.add(IdTag(tag="BR-CARD-1", user_id=user.id, kind="rfid", name="Blue fob"))
    session.add(Favourite(user_id=user.id, charge_point_id=two.id))
    session.flush()
    queued = ActionRequest(charge_point_id=cp.id, connector_id=1, action="RemoteStartTransaction", state="sent",
                           requested_by_id=user.id, payload={})
    session.add(queued)
    session.commit()
    return dict(site=site, user=user, cp=cp, two=two, foreign=foreign, tx=tx, board=board, action=queued)


def log_in_from_start_screen(page, base: str, email: str, identity: str) -> None:
    """Scan-the-sticker flow: logged out on the start screen → log in → back on the same start screen."""
    page.context.add_cookies([{"name": "lang", "value": "en", "url": base}])
    page.goto(f"{base}/c/{identity}")
    page.get_by_test_id("login-link").click()
    form = page.get_by_test_id("login-form")
    form.get_by_label("E-mail").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        form.get_by_role("button", name="Log in").click()
    page.get_by_test_id("start-screen").wait_for()
    assert page.url.endswith(f"/c/{identity}")


def check(page) -> None:
    assert_no_horizontal_scroll(page)
    violations = run_axe(page)
    assert violations == [], violations


def test_every_resident_page_fits_a_phone_and_passes_axe(page, live_server, world):
    page.context.add_cookies([{"name": "lang", "value": "en", "url": live_server}])
    page.goto(f"{live_server}/c/{world['cp'].identity}")
    assert page.get_by_test_id("start-anonymous").is_visible()
    check(page)
    log_in_from_start_screen(page, live_server, world["user"].email, world["two"].identity)
    assert page.get_by_test_id("price-per-kwh").inner_text() == "3.20 kr/kWh"
    check(page)
    for path in ("/chargers", "/favorites", "/history", f"/sessions/{world['tx'].id}", "/subscriptions", "/tags",
                 f"/charging/{world['action'].id}", f"/c/{world['foreign'].identity}"):
        page.goto(f"{live_server}{path}")
        check(page)
    page.goto(f"{live_server}/sessions/{world['tx'].id}")
    assert page.get_by_test_id("receipt-total").inner_text() == "39.50 kr"
    assert page.get_by_test_id("receipt-vat").inner_text() == "7.90 kr"


def test_a_resident_without_access_gets_a_clear_refusal(page, live_server, world):
    log_in_from_start_screen(page, live_server, world["user"].email, world["cp"].identity)
    response = page.goto(f"{live_server}/c/{world['foreign'].identity}")
    assert response.status == 403
    refusal = page.get_by_test_id("refused")
    assert "no access" in refusal.inner_text().lower()
    body = page.locator("body").inner_text()
    assert "Hidden Heights" not in body and "Secret garage" not in body
    page.goto(f"{live_server}/chargers")
    assert "CP-BR-FOREIGN" not in page.content()


def test_menu_leads_to_favourites_and_a_favourite_opens_its_start_screen(page, live_server, world):
    log_in_from_start_screen(page, live_server, world["user"].email, world["cp"].identity)
    page.locator('[data-testid="main-menu"] summary').click()
    page.locator('[data-testid="main-menu"] nav').get_by_role("link", name="Favourites").click()
    page.get_by_test_id("favourites").wait_for()
    page.locator(f'a[data-identity="{world["two"].identity}"]').click()
    page.get_by_test_id("start-screen").wait_for()
    assert page.url.endswith(f"/c/{world['two'].identity}")
    # two outlets: the resident chooses one
    assert page.locator('input[name="connector"]').count() == 2


@pytest.fixture
def no_js_page(browser):
    context = browser.new_context(**dict(PHONE, java_script_enabled=False))
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_essentials_work_without_javascript(no_js_page, live_server, world, session):
    page = no_js_page
    log_in_from_start_screen(page, live_server, world["user"].email, world["cp"].identity)
    user_id = world["user"].id

    # favourite on, then listed, then one tap removes it
    page.get_by_test_id("favourite-toggle").get_by_role("button").click()
    page.wait_for_url(f"**/c/{world['cp'].identity}")
    assert page.get_by_test_id("favourite-toggle").get_attribute("data-favourite") == "yes"
    page.goto(f"{live_server}/favorites")
    assert page.get_by_test_id("favourite").count() == 2
    page.get_by_test_id("favourite").first.get_by_test_id("favourite-remove").click()
    page.wait_for_url("**/favorites")
    assert page.get_by_test_id("favourite").count() == 1

    # subscription off and on again, the start screen follows
    page.goto(f"{live_server}/subscriptions")
    page.get_by_test_id("plan-deactivate").click()
    page.wait_for_url("**/subscriptions")
    page.goto(f"{live_server}/c/{world['cp'].identity}")
    assert page.get_by_test_id("refusal").get_attribute("data-reason") == "not_allowed"
    page.goto(f"{live_server}/subscriptions")
    page.get_by_test_id("plan-activate").click()
    page.wait_for_url("**/subscriptions")
    session.expire_all()
    assert session.scalar(select(UserSubscription.status).where(UserSubscription.user_id == user_id)
                          .order_by(UserSubscription.id.desc())) == "active"

    # a tag: bad input is explained, good input registered, then blocked
    page.goto(f"{live_server}/tags")
    form = page.get_by_test_id("tag-form")
    form.get_by_label("Tag number").fill("X" * 25)
    form.get_by_role("button", name="Register tag").click()
    assert "1 to 20" in page.locator(".field-error").inner_text()
    form = page.get_by_test_id("tag-form")
    form.get_by_label("Tag number").fill("04 AA BB CC")
    form.get_by_role("button", name="Register tag").click()
    page.wait_for_url("**/tags")
    row = page.locator('[data-testid="tag"][data-tag="04AABBCC"]')
    row.get_by_test_id("tag-block").click()
    page.wait_for_url("**/tags")
    assert page.locator('[data-testid="tag"][data-tag="04AABBCC"]').get_attribute("data-blocked") == "yes"

    # history and the receipt are plain links
    page.goto(f"{live_server}/history")
    page.get_by_test_id("session-row").first.get_by_role("link").click()
    assert page.get_by_test_id("receipt-total").inner_text() == "39.50 kr"
