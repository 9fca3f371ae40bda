"""The waiting list in Chromium against the real stack (web, OCPP node, the simulator as a charger being
installed): an unknown charger keeps trying, appears on the waiting list, support claim it to a site, the
electrician types the shown secret into the charger, and the staff charger page shows it online.
On a phone (390 px) and on a desktop."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.models import ChargePoint, WaitingCharger
from tests.browser.test_staff_console import log_in
from tests.factories import make_site, make_user
from tests.support.browser import assert_no_horizontal_scroll, run_axe
from tests.support.stack import Stack, wait_for_db


@pytest.mark.parametrize("viewport", [None, {"width": 1366, "height": 900}], ids=["phone", "desktop"])
def test_an_unknown_charger_is_claimed_and_connects(page, live_server, session, db, database_url, redis_url,
                                                    tmp_path, viewport):
    identity = f"GARAGE-NEW-{'D' if viewport else 'P'}"
    if viewport:
        page.set_viewport_size(viewport)
    make_site(session, "solhaugen", name="Solhaugen borettslag")
    make_user(session, "siv@support.test", staff_role="support", name="Siv Support")
    session.commit()
    typed = tmp_path / "typed-password"  # what the electrician enters on the charger; empty until told
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    with Stack(env) as stack:
        node = stack.ocpp_node(f"browser-fleet-{identity}")
        stack.simulator(node.url, identity, "as-delivered-0000", connectors=2, extra_args=[
            "--until-let-in", "--password-file", str(typed), "--retry-max", "2"])
        wait_for_db(db, lambda s: s.scalar(select(WaitingCharger.id).where(WaitingCharger.identity == identity)))

        log_in(page, live_server, "siv@support.test")
        page.get_by_test_id("staff-nav").get_by_role("link", name="Waiting chargers").click()
        row = page.locator(f'[data-testid="waiting-list"] tr[data-identity="{identity}"]')
        row.wait_for()
        assert "Unknown identity" in row.inner_text() and "SimuCharge/Sim-22" in row.inner_text()
        assert_no_horizontal_scroll(page)
        assert run_axe(page) == []

        row.get_by_role("button", name="Claim").click()
        claim = page.get_by_test_id("claim")
        claim.get_by_label("Site").select_option("solhaugen")
        claim.get_by_label("Name shown to residents (optional)").fill("Plass 21")
        claim.get_by_label("Number of outlets").fill("2")
        claim.get_by_label("Reason").fill("Electrician on site, new charger")
        claim.get_by_role("button", name="Claim and make its secret").click()
        secret = page.get_by_test_id("secret").inner_text().strip()
        assert len(secret) >= 32
        assert run_axe(page) == []
        typed.write_text(secret)  # the electrician types it in; the charger's next try gets in

        page.get_by_role("link", name="Open the charger").click()
        page.get_by_test_id("charger-live").wait_for()
        for _ in range(30):
            if page.get_by_test_id("charger-live").get_attribute("data-online") == "yes":
                break
            page.wait_for_timeout(1000)
            page.reload()
        assert page.get_by_test_id("connection").inner_text() == "Online"
        assert_no_horizontal_scroll(page)
        with db.session() as s:
            cp = s.scalar(select(ChargePoint).where(ChargePoint.identity == identity))
            assert cp.name == "Plass 21" and cp.site.slug == "solhaugen" and cp.vendor == "SimuCharge"
