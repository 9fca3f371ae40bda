"""axe-core (WCAG 2.0, 2.1 and 2.2, A and AA, plus label-content-name-mismatch) on the main pages,
logged out, as a resident, as a board member and as staff, in bokmål, Swedish and English.

Every impact level counts; the only rules let through are in tests.support.browser.AXE_ALLOWED,
each with its reason."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from portal.models import Transaction, UserGroup
from portal.services.billing import statements
from tests.factories import PASSWORD, make_user, resident_with_access
from tests.support.browser import run_axe

LANGUAGES = ("nb", "sv", "en")


@pytest.fixture
def world(session):
    site, user, cp = resident_with_access(session)
    site.slug = "a11y"
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="T", user_id=user.id, status="completed",
                     start_key=f"a11y-{cp.id}", meter_start_wh=0, meter_stop_wh=8000, energy_wh=8000,
                     started_at=datetime(2026, 10, 3, 18, tzinfo=timezone.utc),
                     stopped_at=datetime(2026, 10, 3, 20, tzinfo=timezone.utc), tariff_name="Residents",
                     energy_fee=Decimal("3.20"), cost_minor=2560, vat_minor=512, stop_key=f"a11y-s-{cp.id}")
    session.add(tx)
    session.flush()
    st = statements.issue(session, site, 2026, 10, statements.Operator("Ladeportalen AS", "923 609 016"))[0]
    board = make_user(session, site=site, role="board")
    admin = make_user(session, staff_role="admin")
    user_group = UserGroup(site_id=site.id, name="Caretakers")
    session.add(user_group)
    session.flush()
    group = cp.tariff_group
    tariff = next(t for t in group.tariffs if t.restrictions)
    ids = dict(tariff_id=tariff.id, group_id=group.id, plan_id=tariff.restrictions[0].id,
               user_group_id=user_group.id)
    session.commit()
    return dict(site=site, user=user, cp=cp, tx=tx, statement=st, board=board, admin=admin, **ids)


def _log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("form[data-testid=login-form] button[type=submit]").click()


def _check_pages(page, base: str, paths: list[str], language: str) -> None:
    problems = {}
    for path in paths:
        response = page.goto(base + path)
        assert response.status == 200, f"{path}: {response.status}"
        assert page.locator("html").get_attribute("lang") == language
        violations = run_axe(page)
        if violations:
            problems[path] = violations
    assert problems == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_pages_pass_axe_for_everyone(page, live_server, world, language):
    page.context.add_cookies([{"name": "lang", "value": language, "url": live_server}])
    cp, slug = world["cp"].identity, world["site"].slug
    _check_pages(page, live_server, ["/", "/login", "/reset", f"/c/{cp}"], language)

    _log_in(page, live_server, world["user"].email)
    _check_pages(page, live_server, [
        "/chargers", f"/c/{cp}", "/favorites", "/history", f"/sessions/{world['tx'].id}", "/statements",
        f"/statements/{world['statement'].id}", "/subscriptions", "/tags", "/account", f"/sites/{slug}",
        "/chargers/search?q=cp-",
    ], language)
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "lang", "value": language, "url": live_server}])

    _log_in(page, live_server, world["board"].email)
    manage = f"/manage/{slug}"
    _check_pages(page, live_server, [
        f"{manage}/", f"{manage}/tariffs", f"{manage}/groups", f"{manage}/plans", f"{manage}/members",
        f"{manage}/user-groups", f"{manage}/chargers", f"{manage}/reports?month=2026-10", f"{manage}/audit",
        f"{manage}/tariffs/{world['tariff_id']}", f"{manage}/groups/{world['group_id']}",
        f"{manage}/plans/{world['plan_id']}", f"{manage}/user-groups/{world['user_group_id']}",
        f"{manage}/chargers/{world['cp'].id}", f"/c/{cp}/sticker",
    ], language)
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "lang", "value": language, "url": live_server}])

    _log_in(page, live_server, world["admin"].email)  # staff (admin): /staff must answer 200, and pass
    _check_pages(page, live_server, ["/staff", "/account", "/manage/", f"{manage}/reports?month=2026-10",
                                     "/staff/people?q=user", f"/staff/people/{world['user'].id}"], language)


def test_the_menu_button_is_named_by_its_visible_text(page, live_server):
    """WCAG 2.5.3: the button's accessible name contains the word it shows."""
    page.context.add_cookies([{"name": "lang", "value": "en", "url": live_server}])
    page.goto(f"{live_server}/login")
    run_axe(page)  # loads axe-core, whose accessible-name code is the one the rule uses
    name = page.evaluate("""() => {
        axe.setup(); const el = document.querySelector('[data-testid=main-menu] summary');
        try { return axe.commons.text.accessibleText(el); } finally { axe.teardown(); } }""")
    assert name.strip() == "Menu"  # the word on the button, nothing the eye does not see
    assert not [v for v in run_axe(page) if v["id"] == "label-content-name-mismatch"]
