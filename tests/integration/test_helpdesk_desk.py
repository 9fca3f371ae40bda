"""Issue 19, helpdesk basics: queue search, response clocks (overdue first), counts on /staff, saved replies,
photos on replies (both ways), the assignee told of a customer answer (real SMTP), merging duplicates, the
guide's outcome and the charger's state on the ticket. Real database (both engines) and Redis."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image
from sqlalchemy import select

from portal.models import AuditEntry, SavedReply, SupportTicket, TicketMessage, TicketPhoto
from portal.services.helpdesk import tickets
from portal.services.helpdesk.targets import add_working_time, clock
from tests.conftest import browser_like_client
from tests.factories import make_user, resident_with_access
from tests.support.mail import run_mail_jobs, text_part

HX = {"HX-Request": "true"}
UTC = timezone.utc


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def desk(app, session):
    with app.app_context():  # a visitor's link is derived under the app's secret key, as on the site
        return _desk(session)


def _desk(session):
    site, resident, cp = resident_with_access(session)
    resident.name, resident.language = "Siri Svensson", "sv"
    support = make_user(session, "agent@desk.test", staff_role="support")
    colleague = make_user(session, "colleague@desk.test", staff_role="support")
    mine = tickets.open_ticket(session, category="charger_fault", description="The cable is stuck in the outlet",
                               language="sv", requester=resident, charge_point=cp, route="remote_diagnostics")
    visitor = tickets.open_ticket(session, category="billing", description="Invoice 100% wrong", language="en",
                                  requester=None, email="vera@desk.test", name="Vera Visitor")
    session.commit()
    return {"site": site, "resident": resident, "cp": cp, "support": support, "colleague": colleague,
            "ticket": mine.ticket, "visitor": visitor.ticket, "token": visitor.token}


def _queue_ids(client, **query) -> list[int]:
    body = client.get("/staff/tickets", query_string=query, headers=HX).get_data(as_text=True)
    return [int(n) for n in re.findall(r'<tr data-ticket="(\d+)"', body)]


def test_queue_search_finds_subject_messages_requester_charger_and_number(client, login, session, desk):
    t, v = desk["ticket"], desk["visitor"]
    tickets.add_internal_note(session, v, desk["support"], "Customer mentions meter serial ZX-77")
    session.commit()
    login(client, desk["support"])
    assert _queue_ids(client, q="cable is STUCK") == [t.id]          # message text, any case
    assert _queue_ids(client, q="zx-77") == [v.id]                    # a note counts too (staff search)
    assert _queue_ids(client, q="vera visitor") == [v.id]             # requester's name
    assert _queue_ids(client, q="desk.test") == [v.id]                # requester's e-mail
    assert _queue_ids(client, q=desk["cp"].identity.lower()) == [t.id]  # the charger
    assert _queue_ids(client, q=f"#{t.id}") == [t.id]
    assert _queue_ids(client, q="100%") == [v.id]                     # % is a character, not a wildcard
    assert _queue_ids(client, q="_") == []
    assert _queue_ids(client, q="nothing like this") == []
    v.requester_name = "Øyvind Ås"
    session.commit()
    assert _queue_ids(client, q="øyvind ås") == [v.id] and _queue_ids(client, q="ØYVIND") == [v.id]
    assert _queue_ids(client, q="cable", category="billing") == []    # with the other filters
    page = client.get("/staff/tickets", query_string={"q": "cable"}).get_data(as_text=True)
    assert 'value="cable"' in page                                      # what was typed is kept


def test_the_guide_outcome_is_shown_and_filters_the_queue(client, login, desk):
    login(client, desk["support"])
    assert _queue_ids(client, route="remote_diagnostics") == [desk["ticket"].id]
    assert _queue_ids(client, route="technical_support") == []
    page = client.get(f"/staff/tickets/{desk['ticket'].id}").get_data(as_text=True)
    assert 'data-route="remote_diagnostics"' in page and "Remote diagnostics requested" in page


def test_an_overdue_ticket_comes_first_with_its_clock(client, login, session, desk):
    urgent = tickets.open_ticket(session, category="start_stop", description="Cannot stop charging", language="nb",
                                 requester=None, email="late@desk.test").ticket
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    urgent.created_at = urgent.awaiting_since = long_ago
    session.commit()
    login(client, desk["support"])
    ids = _queue_ids(client)
    assert ids[0] == urgent.id and set(ids) == {urgent.id, desk["ticket"].id, desk["visitor"].id}
    body = client.get("/staff/tickets", headers=HX).get_data(as_text=True)
    assert f'data-ticket="{urgent.id}" data-status="new" data-overdue="yes"' in body
    assert f'data-ticket="{desk["visitor"].id}" data-status="new" data-overdue="no"' in body
    # answering stops the clock and records the first response
    client.post(f"/staff/tickets/{urgent.id}/reply", data={"reply-body": "Stopped it for you."})
    session.expire_all()
    answered = session.get(SupportTicket, urgent.id)
    state = clock(answered, datetime.now(UTC))
    assert answered.awaiting_since is None and not state.overdue and state.first_response >= timedelta(hours=2)


def test_working_hours_skip_evenings_and_weekends():
    friday_3pm_oslo = datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
    assert add_working_time(friday_3pm_oslo, timedelta(hours=8)) == datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
    saturday = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    assert add_working_time(saturday, timedelta(hours=1)) == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def test_staff_overview_counts_tickets_and_marks_a_customer_answer(client, login, session, desk, smtp, redis_url):
    t = desk["ticket"]
    login(client, desk["support"])
    client.post(f"/staff/tickets/{t.id}/assign", data={"assignee": "me"})
    client.post(f"/staff/tickets/{t.id}/reply", data={"reply-body": "Is the car still connected?"})
    run_mail_jobs(redis_url)
    smtp.wait_for(1)
    page = client.get("/staff").get_data(as_text=True)
    assert 'data-status="waiting_for_customer" data-count="1"' in page and 'data-status="new" data-count="1"' in page
    assert 'data-category="charger_fault" data-count="1"' in page and 'data-category="billing" data-count="1"' in page
    assert 'data-testid="customer-answered"' not in page

    login(client, desk["resident"])
    answer = client.post(f"/support/tickets/{t.id}/reply", data={"body": "Yes, still stuck"})
    assert answer.status_code == 303
    run_mail_jobs(redis_url)
    mails = smtp.wait_for(2)
    told = [m for m in mails if m["To"] == "agent@desk.test"]
    assert len(told) == 1 and "Yes, still stuck" not in text_part(told[0])  # the words stay behind log-in
    assert f"http://portal.test/staff/tickets/{t.id}" in text_part(told[0])

    login(client, desk["support"])
    page = client.get("/staff").get_data(as_text=True)
    assert 'data-testid="customer-answered" data-count="1"' in page and f'data-ticket="{t.id}"' in page
    assert 'data-testid="customer-answered"' in client.get("/staff/tickets").get_data(as_text=True)
    client.get(f"/staff/tickets/{t.id}")  # the assignee opens it: the marker goes
    assert 'data-testid="customer-answered"' not in client.get("/staff").get_data(as_text=True)
    # a colleague opening it does not clear someone else's marker
    session.expire_all()
    assert session.get(SupportTicket, t.id).customer_replied_at is None


def test_nobody_assigned_means_no_mail_on_a_customer_answer(client, login, session, desk, smtp, redis_url):
    v = desk["visitor"]
    client.post(f"/support/t/{desk['token']}/reply", data={"body": "More details"})
    run_mail_jobs(redis_url)
    session.expire_all()
    assert session.get(SupportTicket, v.id).customer_replied_at is None
    assert smtp.messages == []


def test_saved_replies_refuse_unknown_placeholders_and_fill_in_for_the_ticket(client, login, session, desk):
    login(client, desk["support"])
    bad = client.post("/staff/replies", data={"language": "sv", "title": "Kabel fast",
                                              "body": "Hej {kund}, vi tittar på {charger}."})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Unknown placeholder {kund}" in text
    assert "Hej {kund}, vi tittar på {charger}." in text and 'value="Kabel fast"' in text
    stray = client.post("/staff/replies", data={"language": "sv", "title": "Kabel fast", "body": "Hej {name"})
    assert stray.status_code == 422 and "curly brace" in stray.get_data(as_text=True)
    assert session.scalar(select(SavedReply)) is None
    good = client.post("/staff/replies", data={"language": "sv", "title": "Kabel fast",
                                               "body": "Hej {name}! Vi låser upp {charger} på {site}."})
    assert good.status_code == 303
    reply = session.scalar(select(SavedReply))
    twin = client.post("/staff/replies", data={"language": "sv", "title": "Kabel fast", "body": "Annat"})
    assert twin.status_code == 422 and "already a saved reply" in twin.get_data(as_text=True)
    client.post("/staff/replies", data={"language": "en", "title": "Cable", "body": "Hi {name}"})

    t = desk["ticket"]
    page = client.get(f"/staff/tickets/{t.id}").get_data(as_text=True)
    assert "Kabel fast" in page and ">Cable<" not in page  # only the ticket's language is offered
    inserted = client.post(f"/staff/tickets/{t.id}/reply/insert",
                           data={"reply-saved": str(reply.id), "reply-body": "Typed first"})
    body = inserted.get_data(as_text=True)
    assert inserted.status_code == 200
    assert (f"Typed first\n\nHej Siri Svensson! Vi låser upp {desk['cp'].display_name} på {desk['site'].name}."
            in body.replace("&#39;", "'"))
    edited = client.post(f"/staff/replies/{reply.id}", data={"language": "sv", "title": "Kabel fast",
                                                               "body": "Hej {name}, {oops}"})
    assert edited.status_code == 422 and "{oops}" in edited.get_data(as_text=True)
    assert client.post(f"/staff/replies/{reply.id}/delete").status_code == 303
    session.expire_all()
    assert [r.title for r in session.scalars(select(SavedReply))] == ["Cable"]
    actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "saved_reply")))
    assert actions == {"create", "delete"}


def test_photos_on_replies_both_ways_and_nobody_else_sees_them(client, login, session, desk, make_other_resident):
    v = desk["visitor"]
    login(client, desk["support"])
    bad = client.post(f"/staff/tickets/{v.id}/reply", content_type="multipart/form-data", data={
        "reply-body": "See the picture", "reply-photo": (io.BytesIO(b"%PDF-1.4"), "x.pdf", "application/pdf")})
    assert bad.status_code == 422 and "See the picture" in bad.get_data(as_text=True)
    sent = client.post(f"/staff/tickets/{v.id}/reply", content_type="multipart/form-data", data={
        "reply-body": "This is where the reset button is", "reply-photo": (io.BytesIO(_png()), "a.png", "image/png")})
    assert sent.status_code == 303
    staff_photo = session.scalar(select(TicketPhoto))
    message = session.get(TicketMessage, staff_photo.message_id)
    assert message.author_role == "staff" and staff_photo.uploaded_by_id == desk["support"].id
    staff_page = client.get(f"/staff/tickets/{v.id}").get_data(as_text=True)
    assert f"/support/tickets/{v.id}/photos/{staff_photo.id}" in staff_page
    assert client.get(f"/support/tickets/{v.id}/photos/{staff_photo.id}").status_code == 200  # staff see it

    visitor = browser_like_client(client.application)
    thread = visitor.get(f"/support/t/{desk['token']}").get_data(as_text=True)
    assert f"/support/t/{desk['token']}/photos/{staff_photo.id}" in thread
    served = visitor.get(f"/support/t/{desk['token']}/photos/{staff_photo.id}")
    assert served.status_code == 200 and served.mimetype == "image/png"
    answered = visitor.post(f"/support/t/{desk['token']}/reply", content_type="multipart/form-data", data={
        "body": "Found it, photo attached", "photo": (io.BytesIO(_png()), "b.png", "image/png")})
    assert answered.status_code == 303
    customer_photo = session.scalars(select(TicketPhoto).order_by(TicketPhoto.id.desc())).first()
    assert customer_photo.id != staff_photo.id and customer_photo.uploaded_by_id is None
    assert f"/photos/{customer_photo.id}" in client.get(f"/staff/tickets/{v.id}").get_data(as_text=True)

    login(client, make_other_resident())
    for photo in (staff_photo, customer_photo):
        assert client.get(f"/support/tickets/{v.id}/photos/{photo.id}").status_code == 404
    anonymous = client.application.test_client()
    assert anonymous.get(f"/support/tickets/{v.id}/photos/{staff_photo.id}").status_code in (302, 303)


@pytest.fixture
def make_other_resident(session):
    def make():
        user = make_user(session, "other-resident@desk.test")
        session.commit()
        return user
    return make


def test_the_charger_state_now_is_on_the_ticket_page(client, login, session, desk):
    cp = desk["cp"]
    login(client, desk["support"])
    page = client.get(f"/staff/tickets/{desk['ticket'].id}").get_data(as_text=True)
    assert 'data-testid="charger-now"' in page
    assert f'data-online="{"yes" if cp.online else "no"}"' in page
    for connector in cp.connectors:
        assert f'data-connector="{connector.connector_id}" data-connector-status="{connector.status}"' in page
    assert 'data-testid="charger-now"' not in client.get(f"/staff/tickets/{desk['visitor'].id}").get_data(as_text=True)


def test_reply_and_note_boxes_are_clearly_different(client, login, desk):
    login(client, desk["support"])
    page = client.get(f"/staff/tickets/{desk['ticket'].id}").get_data(as_text=True)
    assert "Answer to the customer" in page and "Internal note" in page and ">Message<" not in page
    assert "Never shown to the customer, never e-mailed." in page
    assert 'class="desk-box desk-reply"' in page and 'class="desk-box desk-note"' in page


def test_demo_saved_replies_load_once_and_use_only_known_placeholders(session):
    from portal.services.demodata.demo_replies import seed_saved_replies
    from portal.services.helpdesk.saved_replies import check_placeholders

    seed_saved_replies(session)
    seed_saved_replies(session)
    session.commit()
    replies = session.scalars(select(SavedReply)).all()
    assert sorted(r.language for r in replies) == ["en", "nb", "sv"]
    for reply in replies:
        check_placeholders(reply.body)
