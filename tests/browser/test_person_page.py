"""Issue 19 in Chromium on a phone: a resident calls support. Support finds her by a part of her phone number,
sees her sessions and tickets on one page, blocks the tag she lost and notes the call; she then reads a plain
reason on her tag page and the call among her requests, and none of support's own words."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.db import utcnow
from portal.models import AuditEntry, IdTag, SupportTicket, Transaction
from portal.services.helpdesk import tickets
from tests.factories import PASSWORD, make_user, resident_with_access
from tests.support.browser import assert_no_horizontal_scroll, run_axe


@pytest.fixture
def caller(session):
    site, rita, cp = resident_with_access(session)
    cp.identity = "CP-CALL-1"
    rita.email, rita.name, rita.phone, rita.language = "rita@call.test", "Rita Caller", "+4791234567", "en"
    tag = IdTag(tag="04AABBCCDD", user_id=rita.id, kind="rfid", name="Key fob")
    session.add(tag)
    start = utcnow() - timedelta(days=2)
    session.add(Transaction(charge_point_id=cp.id, connector_id=1, id_tag="V", user_id=rita.id, status="completed",
                            start_key="call-1", stop_key="call-1-stop", meter_start_wh=0, meter_stop_wh=7000,
                            energy_wh=7000, started_at=start, stopped_at=start + timedelta(hours=2),
                            cost_minor=2240, vat_minor=448, energy_fee=Decimal("3.20")))
    ticket = tickets.open_ticket(session, category="billing", description="A question about my statement",
                                 language="en", requester=rita).ticket
    make_user(session, "sam@desk.test", staff_role="support", name="Sam Support")
    session.commit()
    return dict(user_id=rita.id, tag_id=tag.id, ticket_ref=ticket.reference)


def _log_in(page, base: str, email: str) -> None:
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "lang", "value": "en", "url": base}])
    page.goto(f"{base}/login")
    form = page.get_by_test_id("login-form")
    form.get_by_label("E-mail").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        form.get_by_role("button", name="Log in").click()


def test_support_finds_a_caller_by_phone_blocks_her_lost_tag_and_notes_the_call(page, live_server, caller, db):
    _log_in(page, live_server, "sam@desk.test")
    page.get_by_test_id("staff-nav").get_by_role("link", name="People").click()
    search = page.get_by_test_id("people-search")
    search.get_by_label("Name, e-mail, phone number or RFID tag").fill("912 34")
    search.get_by_role("button", name="Search").click()
    hit = page.locator(f'[data-testid="person-hit"][data-user="{caller["user_id"]}"]')
    assert hit.get_attribute("data-matched") == "phone"
    assert_no_horizontal_scroll(page)
    assert run_axe(page) == []
    hit.get_by_role("link", name="Rita Caller").click()

    # one page: her sessions (with how each is billed) and her tickets
    sessions = page.get_by_test_id("person-sessions")
    assert sessions.locator('[data-testid="person-session"][data-billing="to_bill"]').count() == 1
    assert "CP-CALL-1" in sessions.inner_text()
    assert caller["ticket_ref"] in page.get_by_test_id("person-tickets").inner_text()
    assert page.get_by_test_id("person-phone").inner_text() == "+47 91 23 45 67"
    assert_no_horizontal_scroll(page)
    assert run_axe(page) == []

    # she lost her key fob: block it, with what she is told and support's own note
    tag = page.locator('[data-testid="person-tag"][data-tag="04AABBCCDD"]')
    block = tag.get_by_test_id("tag-block-form")
    block.get_by_role("button", name="Block the tag").click()  # nothing chosen yet: refused, the note kept
    tag = page.locator('[data-testid="person-tag"][data-tag="04AABBCCDD"]')
    tag.get_by_text("Choose what the person is told.", exact=True).wait_for()
    block = tag.get_by_test_id("tag-block-form")
    block.get_by_label("Internal note (staff only, never shown to the person)").fill("Lost it on the tram, line 17")
    block.get_by_role("button", name="Block the tag").click()
    page.get_by_text("Choose what the person is told.", exact=True).wait_for()
    block = page.locator('[data-testid="person-tag"][data-tag="04AABBCCDD"]').get_by_test_id("tag-block-form")
    assert block.get_by_label("Internal note (staff only, never shown to the person)").input_value() == \
        "Lost it on the tram, line 17"
    block.get_by_label("You told us the tag was lost.").check()
    block.get_by_role("button", name="Block the tag").click()
    page.get_by_text("Tag 04AABBCCDD is blocked").wait_for()
    assert page.locator('[data-testid="person-tag"][data-tag="04AABBCCDD"]').get_attribute("data-blocked") == "yes"

    # note the call as a ticket
    call = page.get_by_test_id("call-form")
    call.get_by_label("What the call was about").select_option("account")
    call.get_by_label("Solved on the phone").check()
    call.get_by_label("Notes of the call (staff only, never shown to the person)").fill(
        "Lost her fob on the tram; blocked it. She starts from the app until the new one comes.")
    call.get_by_role("button", name="Save the note").click()
    page.get_by_text("The call is noted on ticket").wait_for()
    assert "Phone call with support: My account" in page.get_by_test_id("person-tickets").inner_text()
    assert_no_horizontal_scroll(page)
    assert run_axe(page) == []

    with db.session() as s:
        actions = {e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.area == "staff"))}
        assert {"blocked", "call_noted"} <= actions
        assert s.get(IdTag, caller["tag_id"]).blocked_reason == "lost"
        call_ticket = s.scalar(select(SupportTicket).where(SupportTicket.subject.like("Phone call%")))
        call_id = call_ticket.id

    # Rita reads plain words, never support's notes
    _log_in(page, live_server, "rita@call.test")
    page.goto(f"{live_server}/tags")
    reason = page.get_by_test_id("tag-blocked-reason")
    assert "You told us the tag was lost." in reason.inner_text() and "tram" not in page.content()
    page.goto(f"{live_server}/support/tickets/{call_id}")
    assert "You spoke with our support team on the phone." in page.get_by_test_id("ticket-thread").inner_text()
    assert "tram" not in page.content()
    assert run_axe(page) == []
