"""Issue 18 done-when, in Chromium on a phone against the real stack (web, RQ worker, OCPP node, a simulated
charger over real OCPP):

1. support ends a session whose charger still reports it: the charger receives RemoteStopTransaction, the
   session closes from its own StopTransaction, billed once;
2. a hand close while the charger is offline; it comes back and keeps sending MeterValues for the closed
   session: the alert shows on /staff, and the resident stops it from their start screen.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.models import ChargePoint, OrphanStop, Transaction
from portal.services.billing.pricing import session_cost
from tests.browser.test_staff_console import log_in
from tests.factories import CHARGER_SECRET, make_site, make_user, standard_setup, subscribe
from tests.support.browser import PHONE, assert_no_horizontal_scroll, run_axe
from tests.support.stack import Stack, wait_for_db

IDENTITY = "CP-ASKED-FIRST"
INTERNAL = "Kari on the phone, charger app shows nothing"


@pytest.fixture
def garage(session):
    site = make_site(session, "asked-first", name="Asked First borettslag")
    group, plan = standard_setup(session, site, fee="2.00")
    resident = make_user(session, "rune@asked.test", site=site)
    subscribe(session, resident, plan)
    make_user(session, "siri@support.test", staff_role="support")
    from portal.services.sites.onboarding import add_charge_point

    cp = add_charge_point(session, IDENTITY, site, CHARGER_SECRET, 2, name="Garage B, spaces 4 and 5")
    cp.tariff_group_id = group.id
    session.commit()
    return {"resident_id": resident.id, "cp_id": cp.id}


@pytest.fixture
def support_page(browser):
    context = browser.new_context(**dict(PHONE))
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _start(page, base):
    page.goto(f"{base}/c/{IDENTITY}")
    page.get_by_test_id("start-button").click()
    page.wait_for_url("**/charging/*")
    page.locator('[data-testid="live-session"][data-state="charging"]').wait_for(timeout=30_000)


def _newest(db, resident_id):
    with db.session() as s:
        return s.scalars(select(Transaction).where(Transaction.user_id == resident_id)
                         .order_by(Transaction.id.desc())).first()


def test_the_charger_is_asked_first_and_charging_after_a_hand_close_is_stopped(
        page, support_page, live_server, garage, db, database_url, redis_url):
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    with Stack(env) as stack:
        node = stack.ocpp_node("asked-node")
        stack.worker()
        stack.simulator(node.url, IDENTITY, CHARGER_SECRET, connectors=2,
                        extra_args=["--meter-interval", "1", "--power", "22"])
        wait_for_db(db, lambda s: s.get(ChargePoint, garage["cp_id"]).online and all(
            c.status == "Available" for c in s.get(ChargePoint, garage["cp_id"]).outlets))
        log_in(page, live_server, "rune@asked.test")
        log_in(support_page, live_server, "siri@support.test")

        # 1. the resident charges; support ends the session: the charger is asked and stops it itself
        _start(page, live_server)
        first = _newest(db, garage["resident_id"])
        wait_for_db(db, lambda s: (s.get(Transaction, first.id).meter_last_wh or 0) > first.meter_start_wh)
        support_page.goto(f"{live_server}/staff/chargers/{IDENTITY}")
        support_page.get_by_test_id(f"close-{first.id}").click()
        panel = support_page.get_by_test_id("close-panel")
        support_page.locator('[data-testid="close-panel"][data-why="ask_charger"]').wait_for()
        assert panel.get_by_test_id("last-report").get_attribute("data-recent") == "yes"
        assert "Charging" in panel.get_by_test_id("connector-status").inner_text()
        assert panel.get_by_test_id("next-button").count() == 0  # no hand close while the charger can be asked
        panel.get_by_label("Reason").fill("Resident asked us to stop")
        panel.get_by_test_id("ask-stop-button").click()
        support_page.get_by_test_id("stopped-by-charger").wait_for(timeout=30_000)
        assert_no_horizontal_scroll(support_page)
        assert run_axe(support_page) == []
        with db.session() as s:
            tx = s.get(Transaction, first.id)
            expected = session_cost(tx.energy_wh, Decimal("2.00"), 0, 2500)
            assert (tx.status, tx.stop_reason, tx.close_note) == ("completed", "Remote", None)
            assert tx.energy_wh > 0 and tx.cost_minor == expected.total_minor
            assert s.scalar(select(OrphanStop.id)) is None

        # 2. a new session on the other outlet (the first says Finishing); the charger goes offline (its node
        # stops) while still charging
        page.goto(f"{live_server}/c/{IDENTITY}")
        page.get_by_test_id("start-button").click()
        page.wait_for_url("**/charging/*")
        page.locator('[data-testid="live-session"][data-state="charging"]').wait_for(timeout=30_000)
        second = _newest(db, garage["resident_id"])
        assert second.id != first.id
        wait_for_db(db, lambda s: (s.get(Transaction, second.id).meter_last_wh or 0) > second.meter_start_wh)
        port = node.port
        node.stop()
        wait_for_db(db, lambda s: not s.get(ChargePoint, garage["cp_id"]).online)

        # support closes it by hand: offline, but reported seconds ago, so only with the override and a reason
        support_page.goto(f"{live_server}/staff/sessions/{second.id}/close")
        support_page.locator('[data-testid="close-panel"][data-why="offline"]').wait_for()
        panel = support_page.get_by_test_id("close-panel")
        panel.get_by_label("Billed at the metered energy").check()
        panel.get_by_label("Internal reason (staff only, never shown to the resident)").fill(INTERNAL)
        panel.get_by_label("The charger lost its connection to us.").check()
        panel.get_by_test_id("next-button").click()
        panel.locator('[role="alert"]').first.wait_for()  # the override is missing
        assert support_page.locator('[data-testid="close-panel"][data-step="form"]').count() == 1
        panel.get_by_label("The charger reported this session a few minutes ago: close it by hand anyway").check()
        panel.get_by_label("Why close it although the charger may still be charging").fill("Garage lost power")
        panel.get_by_test_id("next-button").click()
        support_page.get_by_test_id("confirm-button").click()
        support_page.get_by_test_id("charger-live").wait_for()
        with db.session() as s:
            closed = s.get(Transaction, second.id)
            assert (closed.status, closed.stop_reason, closed.resident_reason) == (
                "completed", "ClosedBySupport", "charger_offline")
            billed = closed.cost_minor

        # the charger comes back and goes on: MeterValues for the closed session raise the alert
        stack.ocpp_node("asked-node-2", port=port)
        wait_for_db(db, lambda s: (s.get(Transaction, second.id).after_close_wh or 0) > 0, timeout=60)
        support_page.goto(f"{live_server}/staff")
        support_page.locator(f'[data-testid="still-charging"] tr[data-session="{second.id}"]').wait_for(
            timeout=30_000)
        assert run_axe(support_page) == []

        # the resident sees it on the start screen and stops it there
        page.goto(f"{live_server}/c/{IDENTITY}")
        alert = page.locator(f'[data-testid="still-charging"][data-session="{second.id}"]')
        alert.wait_for(timeout=30_000)
        assert_no_horizontal_scroll(page)
        assert run_axe(page) == []
        alert.get_by_test_id("stop-after-close").click()
        page.locator('[data-testid="still-charging"]').wait_for(state="detached", timeout=45_000)
        with db.session() as s:
            tx = s.get(Transaction, second.id)
            assert (tx.cost_minor, tx.stop_reason) == (billed, "ClosedBySupport")  # billed once, not more
            assert tx.after_close_stopped_at is not None and tx.after_close_wh > 0
            orphan = s.scalar(select(OrphanStop).where(OrphanStop.transaction_id == second.id))
            assert orphan is not None and "after support closed" in orphan.note

        # the receipt tells the chosen reason, never the internal one
        page.goto(f"{live_server}/sessions/{second.id}")
        assert "The charger lost its connection to us." in page.get_by_test_id("closed-by-support").inner_text()
        assert INTERNAL not in page.content()
