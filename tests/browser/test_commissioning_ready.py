"""The commissioning checklist in Chromium, filled in by what a real (simulated) charger does: it boots and
is accepted, takes its configuration template, sends heartbeats at the set interval, charges a car
(a personal charger that starts by itself when the car is plugged in) with plausible meter values, and
accepts its local list; the printable checklist then says "Ready for use" by itself. On a phone."""
from __future__ import annotations

from portal.models import ConfigTemplate, IdTag
from portal.services.fleet.config_templates import SAMPLED
from tests.browser.test_staff_console import log_in
from tests.factories import CHARGER_SECRET, make_charge_point, make_site, make_user, standard_setup, subscribe
from tests.support.browser import assert_no_horizontal_scroll, run_axe
from tests.support.stack import Stack

IDENTITY = "CP-COMMISSION-1"


def test_the_checklist_turns_ready_by_itself(page, live_server, session, db, database_url, redis_url):
    site = make_site(session, "bakkehuset", name="Bakkehuset sameie")
    group, plan = standard_setup(session, site)
    owner = make_user(session, "eier@bakkehuset.test", site=site, name="Eva Eier")
    subscribe(session, owner, plan)
    session.add(IdTag(tag="EVA-CARD-01", user_id=owner.id, kind="rfid", name="Eva's card"))
    make_charge_point(session, site, IDENTITY, group=group, online=False, status="Unavailable", cp_type="personal",
                      owner_id=owner.id, auth_required=False, name="Plass 4")
    session.add(ConfigTemplate(name="Commissioning test", vendor="", model="", entries=[
        ["MeterValuesSampledData", SAMPLED], ["MeterValueSampleInterval", "1"], ["HeartbeatInterval", "2"],
        ["LocalAuthListEnabled", "true"], ["LocalAuthorizeOffline", "true"]]))
    make_user(session, "kari@support.test", staff_role="support", name="Kari Support")
    session.commit()

    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "FLEET_SYNC": "1", "WORKER_PROCESSES": "1",
           "ACTION_DEADLINE_S": "10"}
    with Stack(env) as stack:
        node = stack.ocpp_node("browser-commissioning")
        stack.worker()
        log_in(page, live_server, "kari@support.test")
        page.goto(f"{live_server}/staff/chargers/{IDENTITY}/commissioning")
        assert page.get_by_test_id("commissioning").get_attribute("data-ready") == "no"  # nothing has happened yet

        stack.simulator(node.url, IDENTITY, CHARGER_SECRET, extra_args=["--auto-plug", "--meter-interval", "1"])
        for _ in range(90):
            page.reload()
            if page.get_by_test_id("commissioning").get_attribute("data-ready") == "yes":
                break
            page.wait_for_timeout(1000)
        checklist = page.get_by_test_id("commissioning")
        assert checklist.get_attribute("data-ready") == "yes", checklist.inner_text()
        assert page.get_by_test_id("commissioning-result").inner_text() == "Ready for use"
        assert checklist.locator('[data-done="yes"]').count() == 5
        assert_no_horizontal_scroll(page)
        assert run_axe(page) == []
