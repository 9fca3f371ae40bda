"""The board's power page in Chromium on a 390 px phone: a refused limit explained beside the field (what
was typed kept), then saved, a one-phase charger set between two lines of a 230 V IT site; no sideways
scrolling, axe clean."""
from __future__ import annotations

from portal.models import ChargerPower
from tests.browser.test_staff_console import log_in
from tests.factories import make_charge_point, make_site, make_user
from tests.support.browser import assert_no_horizontal_scroll, run_axe


def test_board_sets_the_power_on_a_phone(page, live_server, session, db):
    site = make_site(session, "lysaker", name="Lysaker borettslag")
    cp = make_charge_point(session, site, "CP-LYS-1", name="Plass 1")
    make_charge_point(session, site, "CP-LYS-2", name="Plass 2")
    make_user(session, "berit@lysaker.test", site=site, role="board", name="Berit")
    session.commit()
    log_in(page, live_server, "berit@lysaker.test")
    page.goto(f"{live_server}/manage/lysaker/power")
    assert run_axe(page) == []
    assert_no_horizontal_scroll(page)

    form = page.get_by_test_id("power-form")
    form.get_by_label("Current for charging per line (A)").fill("4")
    form.get_by_label("Grid").select_option("230")
    form.get_by_role("button", name="Save").click()
    error = page.locator("#max_current-error")
    error.wait_for()
    assert "at least 6 A" in error.inner_text()
    assert page.get_by_test_id("power-form").get_by_label("Current for charging per line (A)").input_value() == "4"
    assert run_axe(page) == []

    page.get_by_test_id("power-form").get_by_label("Current for charging per line (A)").fill("40")
    page.get_by_test_id("power-form").get_by_role("button", name="Save").click()
    page.get_by_test_id("power-summary").wait_for()
    card = page.locator('[data-identity="CP-LYS-1"]')
    card.get_by_label("Phases").select_option("1")
    card.get_by_label("Lines").select_option("L1-L2")
    card.get_by_label("Its maximum (A)").fill("32")
    card.get_by_role("button", name="Save").click()
    page.get_by_test_id("power-summary").wait_for()
    assert page.locator('[data-identity="CP-LYS-1"]').get_attribute("data-floor") == "24"
    assert_no_horizontal_scroll(page)
    assert run_axe(page) == []
    with db.session() as s:
        row = s.get(ChargerPower, cp.id)
        assert (row.phases, row.lines, row.max_current_a) == (1, "L1-L2", 32)
