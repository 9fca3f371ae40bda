"""A work order in Chromium from a ticket to done: support makes it from the ticket's page and sends it
(a real worker e-mails the private link through a real SMTP server); the technician, on a 390 px phone,
confirms the time, reports arrival, adds a photo and the report; the charger is then seen Available
(a status row, as the OCPP side records it) and the next report closes the order."""
from __future__ import annotations

import io
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from PIL import Image

from portal.models import ConnectorStatusChange, WorkOrder
from portal.services.helpdesk import tickets
from tests.browser.conftest import PHONE
from tests.factories import PASSWORD, make_user, resident_with_access
from tests.support.browser import assert_no_horizontal_scroll, run_axe
from tests.support.mail import SmtpCatcher, reset_mail_queue, text_part
from tests.support.stack import Stack, wait_for_db


@pytest.fixture
def smtp():
    catcher = SmtpCatcher()
    yield catcher
    catcher.stop()


@pytest.fixture
def desk(session):
    site, resident, cp = resident_with_access(session)
    cp.identity, cp.name = "CP-WORK-ORDER", "Garage west"
    site.address, site.postcode, site.city = "Bakkeveien 2", "0550", "Oslo"
    make_user(session, "sam@support.test", staff_role="support", name="Sam Support")
    ticket = tickets.open_ticket(session, category="charger_fault", language="en", requester=resident,
                                 charge_point=cp, description="Red light and error F12 on the display").ticket
    session.commit()
    return {"ticket_id": ticket.id, "cp_id": cp.id}


def _log_in(page, base: str, email: str) -> None:
    page.context.add_cookies([{"name": "lang", "value": "en", "url": base}])
    page.goto(f"{base}/login")
    form = page.get_by_test_id("login-form")
    form.get_by_label("E-mail").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        form.get_by_role("button", name="Log in").click()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (120, 80), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


def test_a_work_order_from_a_ticket_to_done(page, browser, live_server, desk, db, database_url, redis_url, smtp):
    reset_mail_queue(redis_url)
    with Stack({"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SMTP_URL": smtp.url}) as stack:
        stack.worker()
        # support: from the ticket to a sent work order
        _log_in(page, live_server, "sam@support.test")
        page.goto(f"{live_server}/staff/tickets/{desk['ticket_id']}")
        page.get_by_test_id("ticket-create-work-order").click()
        form = page.get_by_test_id("wo-form")
        assert "error F12" in form.get_by_label("The fault's story").input_value()
        assert form.get_by_label("Charger (its identity)").input_value() == "CP-WORK-ORDER"
        form.get_by_role("button", name="Save as draft").click()
        page.get_by_text("Name the installer company.", exact=True).wait_for()  # kept what was there, says what is missing
        assert "error F12" in form.get_by_label("The fault's story").input_value()
        form.get_by_label("Installer company").fill("Elektro Vest AS")
        form.get_by_label("Technician or contact person").fill("Ola Tekniker")
        form.get_by_label("Technician's e-mail (the private link goes there)").fill("ola@elektro.test")
        form.get_by_label("Access to the site (when, key, gate code)").fill("Gate code 2468, weekdays 07-15")
        form.get_by_label("Language of the e-mail and page").select_option("en")
        form.get_by_role("button", name="Save as draft").click()
        page.get_by_test_id("wo-send-form").get_by_role("button", name="Send to the technician").click()
        page.get_by_text("The work order was sent to ola@elektro.test").wait_for()
        assert page.get_by_test_id("staff-work-order").get_attribute("data-status") == "sent"
        mail = smtp.wait_for(1, timeout=30)[0]
        body = text_part(mail)
        assert mail["To"] == "ola@elektro.test" and "Gate code 2468" in body and "error F12" in body
        link = urlsplit(re.search(r"https?://\S+/visit/\S+", body).group(0)).path

        # the technician, on a phone, without an account
        phone = browser.new_context(**PHONE)
        tech = phone.new_page()
        tech.context.add_cookies([{"name": "lang", "value": "en", "url": live_server}])
        tech.goto(live_server + link)
        assert tech.get_by_test_id("wo-story").inner_text().startswith("#")
        assert_no_horizontal_scroll(tech)
        assert run_axe(tech) == []
        tech.get_by_test_id("wo-confirm-form").get_by_role("button", name="Confirm this time").click()
        tech.get_by_text("Choose the day and time of the visit.", exact=True).wait_for()
        tech.get_by_label("When will you come?").fill("2026-12-09T09:30")
        tech.get_by_role("button", name="Confirm this time").click()
        tech.get_by_test_id("wo-scheduled").wait_for()
        tech.get_by_role("button", name="I am on site now").click()
        tech.get_by_test_id("wo-arrived").wait_for()
        tech.get_by_label("Photo (JPEG or PNG, at most 8 MB)").set_input_files(
            files=[{"name": "display.png", "mimeType": "image/png", "buffer": _png()}])
        tech.get_by_role("button", name="Add the photo").click()
        tech.get_by_test_id("wo-photo").wait_for()
        tech.get_by_label("What did you find and do?").fill("Loose contactor wire, tightened and tested")
        tech.get_by_label("Parts used (one per line)").fill("Cable lug 16 mm2")
        tech.get_by_role("button", name="Save the report").click()
        tech.get_by_test_id("wo-waiting").wait_for()  # the charger has not said it works yet
        assert_no_horizontal_scroll(tech)
        assert run_axe(tech) == []

        # the charger reports Available after the visit began: the next report closes the order
        with db.session() as s:
            order = s.query(WorkOrder).one()
            s.add(ConnectorStatusChange(charge_point_id=desk["cp_id"], connector_id=1, status="Available",
                                        at=order.arrived_at + timedelta(minutes=20)))
            s.commit()
        tech.get_by_role("button", name="Save the report").click()
        tech.get_by_test_id("wo-finished").wait_for()
        wait_for_db(db, lambda s: s.query(WorkOrder).one().status == "done")
        assert tech.goto(live_server + link).status == 404  # the closed order's link opens nothing
        phone.close()

        page.reload()
        assert page.get_by_test_id("staff-work-order").get_attribute("data-status") == "done"
        assert page.get_by_test_id("wo-outcome").inner_text() == "Loose contactor wire, tightened and tested"
        assert page.get_by_test_id("wo-photo").count() == 1
