"""The staff ticket page on a phone (390 px, Chromium): the answer box and the internal-note box are told
apart at a glance, a saved reply is inserted filled in for the ticket, and the page fits the screen."""
from __future__ import annotations

from sqlalchemy import select

from portal.models import SavedReply, TicketMessage
from portal.services.helpdesk import tickets
from tests.browser.test_staff_console import log_in
from tests.factories import make_user, resident_with_access
from tests.support.browser import assert_no_horizontal_scroll, run_axe


def test_the_two_boxes_and_a_saved_reply_on_a_phone(page, live_server, session, db):
    site, resident, cp = resident_with_access(session)
    resident.name = "Rita Resident"
    make_user(session, "sam@support.test", staff_role="support", name="Sam Support")
    ticket = tickets.open_ticket(session, category="charger_fault", description="The light blinks red",
                                 language="en", requester=resident, charge_point=cp, route="technical_support").ticket
    session.add(SavedReply(language="en", title="Red light", body="Hi {name}, we are looking at {charger} now."))
    session.commit()

    log_in(page, live_server, "sam@support.test")
    page.goto(f"{live_server}/staff/tickets/{ticket.id}")
    reply_box, note_box = page.get_by_test_id("reply-box"), page.get_by_test_id("note-box")
    assert reply_box.get_by_role("heading").inner_text() == "Answer the customer"
    assert note_box.get_by_role("heading").inner_text() == "Internal note for colleagues"
    assert "Never shown to the customer" in note_box.inner_text()
    styles = [box.evaluate("el => getComputedStyle(el).borderTopStyle + ' ' + getComputedStyle(el).backgroundColor")
              for box in (reply_box, note_box)]
    assert styles[0] != styles[1] and styles[1].startswith("dashed")
    assert page.get_by_test_id("ticket-route").get_attribute("data-route") == "technical_support"
    assert_no_horizontal_scroll(page)

    reply_box.get_by_label("Answer to the customer").fill("Thanks for the photo.")
    reply_box.get_by_label("Saved reply").select_option(label="Red light")
    reply_box.get_by_role("button", name="Insert").click()
    box = page.get_by_test_id("reply-box").get_by_label("Answer to the customer")
    box.wait_for()
    assert box.input_value() == (f"Thanks for the photo.\n\nHi Rita Resident, we are looking at {cp.display_name} now.")
    note = page.get_by_test_id("note-box").get_by_label("Internal note")
    note.fill("Installer called, waiting for parts")
    page.get_by_test_id("note-box").get_by_role("button", name="Add internal note").click()
    page.locator('[data-internal="yes"]').filter(has_text="waiting for parts").wait_for()
    assert run_axe(page) == []
    with db.session() as s:
        assert s.scalar(select(TicketMessage.internal).where(TicketMessage.body.like("%waiting for parts%"))) is True
