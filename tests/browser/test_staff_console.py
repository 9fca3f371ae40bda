"""Staff console in Chromium against the real stack (web, RQ worker, OCPP node, a simulated charger, a real
SMTP server): support staff work a ticket, a charger and a stuck session; sales win a lead and create its site.

Phone viewport (the console is desktop first, but must work on a phone too)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.db import utcnow
from portal.models import (
    ActionRequest, ChargePoint, MeterValue, OcppMessage, OrphanStop, Site, SupportTicket, Transaction,
)
from portal.services.helpdesk import tickets
from portal.services.sales import leads
from tests.factories import CHARGER_SECRET, PASSWORD, make_user, resident_with_access
from tests.support.browser import assert_no_horizontal_scroll, run_axe
from tests.support.mail import SmtpCatcher, reset_mail_queue, text_part
from tests.support.stack import Stack, wait_for_db

IDENTITY = "CP-STAFF-BROWSER"


@pytest.fixture
def smtp():
    catcher = SmtpCatcher()
    yield catcher
    catcher.stop()


@pytest.fixture
def support_desk(session):
    site, resident, cp = resident_with_access(session, fee="2.50")
    cp.identity, cp.name = IDENTITY, "Garage north"
    for c in cp.connectors:
        c.status = "Unavailable"
    cp.online = False
    resident.email, resident.language, resident.name = "rita@resident.test", "en", "Rita Resident"
    make_user(session, "sam@support.test", staff_role="support", name="Sam Support")
    ticket = tickets.open_ticket(session, category="start_stop", description="Charging never stopped last night",
                                 language="en", requester=resident, charge_point=cp).ticket
    started = utcnow() - timedelta(hours=20)
    stuck = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="VSTUCK", user_id=resident.id, status="active",
                        start_key="browser-stuck", meter_start_wh=5000, meter_last_wh=9000, started_at=started,
                        tariff_name="Residents", energy_fee=Decimal("2.50"), min_price_minor=1000, currency="NOK")
    session.add(stuck)
    session.flush()
    session.add(MeterValue(charge_point_id=cp.id, connector_id=1, transaction_id=stuck.id, value=Decimal(9000),
                           timestamp=started + timedelta(hours=2), received_at=started + timedelta(hours=2)))
    session.commit()
    return {"cp_id": cp.id, "ticket_id": ticket.id, "tx_id": stuck.id}


def log_in(page, base, email):
    page.context.add_cookies([{"name": "lang", "value": "en", "url": base}])
    page.goto(f"{base}/login")
    form = page.get_by_test_id("login-form")
    form.get_by_label("E-mail").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        form.get_by_role("button", name="Log in").click()


def test_support_works_a_ticket_a_charger_and_a_stuck_session(page, live_server, support_desk, db, database_url,
                                                             redis_url, smtp):
    reset_mail_queue(redis_url)
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SMTP_URL": smtp.url}
    with Stack(env) as stack:
        node = stack.ocpp_node("browser-staff-node")
        stack.worker()
        stack.simulator(node.url, IDENTITY, CHARGER_SECRET, connectors=1)
        wait_for_db(db, lambda s: (cp := s.get(ChargePoint, support_desk["cp_id"])).online
                    and all(c.status == "Available" for c in cp.outlets))

        # lands on the overview, which lists the stuck session
        log_in(page, live_server, "sam@support.test")
        assert page.url.rstrip("/").endswith("/staff")
        page.locator(f'[data-testid="long-sessions"] tr[data-session="{support_desk["tx_id"]}"]').wait_for()
        assert_no_horizontal_scroll(page)
        assert run_axe(page) == []
        # the overview refreshes itself: a new orphan stop shows up without reloading the page
        page.evaluate("() => { window.stillTheSamePage = true; }")
        with db.session() as s:
            s.add(OrphanStop(charge_point_id=support_desk["cp_id"], transaction_id=4242, meter_stop_wh=1,
                             timestamp=utcnow(), stop_key="browser-orphan", payload={}, note="late stop"))
            s.commit()
        page.locator('[data-testid="orphan-stops"] tr[data-orphan]').wait_for(timeout=30_000)
        assert page.evaluate("() => window.stillTheSamePage === true")

        # take the ticket and answer it
        page.get_by_test_id("staff-nav").get_by_role("link", name="Tickets").click()
        page.locator(f'tr[data-ticket="{support_desk["ticket_id"]}"] a').click()
        page.get_by_test_id("take-ticket").click()
        page.get_by_test_id("reply-form").get_by_label("Answer to the customer").fill("We closed the session for you.")
        page.get_by_test_id("reply-form").get_by_role("button", name="Send answer").click()
        page.get_by_text("Your answer is sent to rita@resident.test").wait_for()
        mail = smtp.wait_for(1, timeout=30)[0]
        assert mail["To"] == "rita@resident.test" and "We closed the session for you." in text_part(mail)
        assert run_axe(page) == []

        # the charger: unlock outlet 1, the simulated charger answers Unlocked
        page.locator("#requester-context, [data-testid='requester-context']").get_by_role(
            "link", name=IDENTITY).first.click()
        page.get_by_test_id("charger-live").wait_for()
        page.get_by_test_id("unlock-1").click()
        panel = page.get_by_test_id("action-panel")
        panel.get_by_label("Reason").fill("Resident cannot pull the cable")
        panel.get_by_role("button", name="Next").click()
        page.locator('[data-testid="action-panel"][data-step="confirm"]').wait_for()
        page.get_by_test_id("confirm-button").click()
        page.locator('[data-testid="action-request"][data-state="accepted"]').wait_for(timeout=30_000)
        with db.session() as s:
            row = s.scalar(select(ActionRequest).where(ActionRequest.action == "UnlockConnector"))
            assert row.response == {"status": "Unlocked"} and row.reason == "Resident cannot pull the cable"
        wait_for_db(db, lambda s: s.scalar(select(OcppMessage.id).where(
            OcppMessage.identity == IDENTITY, OcppMessage.action == "UnlockConnector", OcppMessage.direction == "out")))

        # read the configuration as a table
        page.get_by_role("link", name=IDENTITY).click()
        page.get_by_test_id("get-config").click()
        page.get_by_test_id("action-panel").get_by_label("Reason").fill("Check the meter interval")
        page.get_by_test_id("action-panel").get_by_role("button", name="Next").click()
        page.get_by_test_id("confirm-button").click()
        table = page.get_by_test_id("config-table")
        table.wait_for(timeout=30_000)
        assert table.locator('tr[data-key="MeterValueSampleInterval"] [data-testid="config-value"]').inner_text() == "5"
        assert_no_horizontal_scroll(page)

        # the stuck session: the charger is online, so it is asked to stop first; it does not know the session
        # (Rejected), and only then may it be closed by hand, not billed
        page.get_by_role("link", name=IDENTITY).click()
        page.get_by_test_id(f"close-{support_desk['tx_id']}").click()
        panel = page.get_by_test_id("close-panel")
        panel.get_by_label("Reason").fill("Resident says charging never stopped")
        panel.get_by_test_id("ask-stop-button").click()
        page.locator('[data-testid="close-panel"][data-why="stop_unanswered"]').wait_for(timeout=30_000)
        panel.get_by_label("Not billed (nothing to pay, no minimum price)").check()
        panel.get_by_label("Internal reason (staff only, never shown to the resident)").fill(
            "Charger lost the stop after a power cut")
        panel.get_by_label("The charger did not report the end of the session.").check()
        panel.get_by_role("button", name="Next").click()
        page.get_by_test_id("confirm-button").click()
        page.get_by_test_id("charger-live").wait_for()
        page.locator(f'tr[data-session="{support_desk["tx_id"]}"][data-status="completed"]').wait_for()
        assert run_axe(page) == []

    # the resident: the answer in the thread, and a receipt of 0 with the reason
    page.context.clear_cookies()
    log_in(page, live_server, "rita@resident.test")
    page.goto(f"{live_server}/support/tickets/{support_desk['ticket_id']}")
    page.get_by_text("We closed the session for you.").wait_for()
    page.goto(f"{live_server}/sessions/{support_desk['tx_id']}")
    assert page.get_by_test_id("receipt-total").get_attribute("data-minor") == "0"
    told = page.get_by_test_id("closed-by-support").inner_text()
    assert "The charger did not report the end of the session." in told
    assert "Charger lost the stop after a power cut" not in page.content()  # the internal reason stays internal
    with db.session() as s:
        assert s.get(SupportTicket, support_desk["ticket_id"]).status == "waiting_for_customer"


def test_sales_wins_a_lead_and_creates_its_site(page, live_server, session, db):
    make_user(session, "sara@sales.test", staff_role="sales")
    lead = leads.create_lead(session, leads.LeadRequest(
        org_type="housing_cooperative", org_name="Lia Terrasse Borettslag", org_number="923609016",
        contact_name="Ola Leder", contact_role="chair", email="ola@lia.test", phone="", parking_spaces=30,
        kind="takeover", message="We have 10 chargers already", language="nb"))
    session.commit()
    log_in(page, live_server, "sara@sales.test")
    assert page.get_by_test_id("staff-start").is_visible()
    page.get_by_test_id("staff-nav").get_by_role("link", name="Quote requests").click()
    page.locator(f'tr[data-lead="{lead.id}"] a').click()
    form = page.get_by_test_id("lead-form")
    form.get_by_label("Status").select_option("won")
    form.get_by_label("Notes").fill("Signed at the board meeting")
    form.get_by_role("button", name="Save").click()
    site_form = page.get_by_test_id("site-form")
    site_form.get_by_label("Address", exact=True).fill("Liaveien 3")
    site_form.get_by_label("City").fill("Trondheim")
    site_form.get_by_label("Price area").select_option("NO3")
    site_form.get_by_role("button", name="Create the site").click()
    page.get_by_test_id("lead-site-created").wait_for()
    assert_no_horizontal_scroll(page)
    assert run_axe(page) == []
    with db.session() as s:
        site = s.scalar(select(Site).where(Site.name == "Lia Terrasse Borettslag"))
        assert (site.price_area, site.currency, site.address, site.agreement_status) == ("NO3", "NOK", "Liaveien 3",
                                                                                         "active")
