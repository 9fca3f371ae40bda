"""On a phone (390x844): the monthly statement matches the sessions and the board's report; a resident
turns a notification off; search finds a charger; a board member makes another member a board member."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from portal.models import Membership, Transaction, User
from portal.services.billing import statements
from tests.factories import PASSWORD, make_charge_point, make_plan, make_site, make_user, subscribe
from tests.support.browser import assert_no_horizontal_scroll, run_axe

UTC = timezone.utc


@pytest.fixture
def world(session):
    site = make_site(session, "bjerke", name="Bjerke borettslag")
    resident = make_user(session, "ida@bjerke.test", site=site, name="Ida")
    board = make_user(session, "styret@bjerke.test", site=site, role="board", name="Kari")
    neighbour = make_user(session, "ola@bjerke.test", site=site, name="Ola")
    plan = make_plan(session, site, "Beboere")
    plan.monthly_fee_minor = 15000
    sub = subscribe(session, resident, plan)
    sub.started_at = datetime(2026, 10, 11, 10, tzinfo=UTC)  # 21 of 31 days in October
    cp = make_charge_point(session, site, "CP-BJERKE-7", name="Garasje C, plass 7")
    sessions = [(datetime(2026, 10, 3, 17, tzinfo=UTC), 12_345, 3950, 790),
                (datetime(2026, 10, 19, 6, tzinfo=UTC), 20_500, 6560, 1312)]
    for i, (start, wh, cost, vat) in enumerate(sessions):
        session.add(Transaction(charge_point_id=cp.id, connector_id=1, id_tag="T", user_id=resident.id,
                                status="completed", start_key=f"bj-{i}", meter_start_wh=0, meter_stop_wh=wh,
                                energy_wh=wh, started_at=start, stopped_at=start.replace(hour=start.hour + 2),
                                tariff_name="Beboere", energy_fee=Decimal("3.20"), cost_minor=cost, vat_minor=vat))
    session.flush()
    st = statements.issue(session, site, 2026, 10, statements.Operator("Ladeportalen AS", "923 609 016"))[0]
    session.commit()
    return dict(site=site, resident=resident, board=board, neighbour=neighbour, cp=cp, statement=st,
                sessions=sessions)


def _log_in(page, base: str, email: str) -> None:
    page.context.add_cookies([{"name": "lang", "value": "en", "url": base}])
    page.goto(f"{base}/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("form[data-testid=login-form] button[type=submit]").click()


def test_statement_matches_the_sessions_and_the_board_report(page, live_server, world):
    _log_in(page, live_server, world["resident"].email)
    page.locator("[data-testid=main-menu] summary").click()
    page.get_by_role("link", name="Statements").click()
    row = page.get_by_test_id("statement-row").first
    assert row.get_attribute("data-minor") == str(world["statement"].total_minor)
    row.get_by_role("link").click()
    page.get_by_test_id("statement").wait_for()
    lines = page.get_by_test_id("statement-line")
    sessions = [lines.nth(i) for i in range(lines.count()) if lines.nth(i).get_attribute("data-kind") == "session"]
    assert [int(s.get_attribute("data-minor")) for s in sessions] == [c for _s, _w, c, _v in world["sessions"]]
    assert [int(s.get_attribute("data-wh")) for s in sessions] == [w for _s, w, _c, _v in world["sessions"]]
    fee = page.locator("[data-testid=statement-line][data-kind=subscription]")
    assert fee.get_attribute("data-days") == "21" and fee.get_attribute("data-minor") == "10161"  # 150 x 21/31
    total = int(page.get_by_test_id("statement-total").get_attribute("data-minor"))
    assert total == 3950 + 6560 + 10161
    assert int(page.get_by_test_id("statement-vat").get_attribute("data-minor")) == sum(
        int(lines.nth(i).get_attribute("data-vat-minor")) for i in range(lines.count()))
    assert "923 609 016" in page.get_by_test_id("statement").inner_text()
    assert_no_horizontal_scroll(page)
    assert run_axe(page) == []

    page.context.clear_cookies()
    _log_in(page, live_server, world["board"].email)
    page.goto(f"{live_server}/manage/bjerke/reports?month=2026-10")
    assert int(page.get_by_test_id("report-invoiced").get_attribute("data-minor")) == total
    assert int(page.get_by_test_id("report-issued").get_attribute("data-minor")) == total
    assert run_axe(page) == []


def test_resident_turns_a_notification_off(page, live_server, world, db):
    _log_in(page, live_server, world["resident"].email)
    page.goto(f"{live_server}/account")
    form = page.get_by_test_id("notify-form")
    box = form.get_by_label("My monthly statement")
    assert box.is_checked()
    box.uncheck()
    form.get_by_role("button", name="Save").click()
    page.get_by_test_id("notify-saved").wait_for()
    assert not page.get_by_test_id("notify-form").get_by_label("My monthly statement").is_checked()
    with db.session() as s:
        user = s.get(User, world["resident"].id)
        assert user.notify_statement is False and user.notify_session_done is True
    page.reload()
    assert not page.get_by_test_id("notify-form").get_by_label("My monthly statement").is_checked()
    assert run_axe(page) == []


def test_search_finds_a_charger(page, live_server, world, session):
    other = make_site(session, "vika", name="Vika sameie")
    make_charge_point(session, other, "CP-VIKA-P1", name="Gjesteplass Vika", cp_type="public")
    session.commit()
    _log_in(page, live_server, world["resident"].email)
    page.goto(f"{live_server}/chargers")
    page.get_by_label("Search by charger name, number or site").fill("gjeste")
    result = page.locator("[data-testid=search-result][data-identity=CP-VIKA-P1]")
    result.wait_for()
    assert page.get_by_test_id("search-result").count() == 1
    result.get_by_role("link").click()
    page.get_by_test_id("start-screen").wait_for()
    assert page.url.endswith("/c/CP-VIKA-P1")
    assert_no_horizontal_scroll(page)


def test_board_member_promotes_another(page, live_server, world, db):
    _log_in(page, live_server, world["board"].email)
    page.goto(f"{live_server}/manage/bjerke/members")
    row = page.locator(f"[data-testid=member][data-user-id='{world['neighbour'].id}']")
    assert row.get_by_test_id("member-role").get_attribute("data-role") == "resident"
    with page.expect_navigation():
        row.get_by_test_id("promote").click()
    assert "Ola is now a board member." in page.locator(".flashes").inner_text()
    row = page.locator(f"[data-testid=member][data-user-id='{world['neighbour'].id}']")
    assert row.get_by_test_id("member-role").get_attribute("data-role") == "board"
    with db.session() as s:
        assert s.query(Membership).filter_by(user_id=world["neighbour"].id).one().role == "board"
    assert_no_horizontal_scroll(page)
    assert run_axe(page) == []
