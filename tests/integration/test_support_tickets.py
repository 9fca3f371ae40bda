"""/support: the ticket form (signed in and visitor), photos, "my tickets", the private link, replies,
and the staff-side services the staff console builds on. Real database, real Redis queue."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.models import OutboxEmail, SupportTicket, TicketMessage, TicketPhoto
from portal.services.helpdesk import tickets
from tests.factories import make_user, resident_with_access


def _jpeg(size=(320, 240), exif_make: str = "PhoneCam") -> bytes:
    exif = Image.Exif()
    exif[0x010F] = exif_make
    out = io.BytesIO()
    Image.new("RGB", size, (0, 120, 60)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def errors(response) -> str:
    return " ".join(re.findall(r'class="field-error"[^>]*>([^<]*)<', response.get_data(as_text=True)))


def _count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


VISITOR = {"category": "charger_fault", "charger_identity": "CP-UNKNOWN-9", "description": "The screen shows E42.",
           "name": "Vera Visitor", "email": "vera@example.test", "phone": "", "route": "operator", "website": ""}


def test_a_visitor_opens_a_ticket_with_a_photo_and_reads_it_through_the_private_link(client, session, upload_dir):
    data = {**VISITOR, "photo": (io.BytesIO(_jpeg()), "display.jpg", "image/jpeg")}
    response = client.post("/support", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    link = response.headers["Location"]
    assert link.startswith("/support/t/")
    ticket = session.scalar(select(SupportTicket))
    assert (ticket.status, ticket.category, ticket.requester_id, ticket.requester_email) == (
        "new", "charger_fault", None, "vera@example.test")
    assert ticket.access_token_hash and link.rsplit("/", 1)[1] not in ticket.access_token_hash
    photo = session.scalar(select(TicketPhoto))
    assert photo.ticket_id == ticket.id and photo.message_id == ticket.messages[0].id
    mail = session.scalar(select(OutboxEmail).where(OutboxEmail.kind == "ticket_confirmation"))
    assert mail.to_address == "vera@example.test" and f"http://portal.test{link}" in mail.body_text

    page = client.get(link)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "The screen shows E42." in body and ticket.reference in body
    assert page.headers["Cache-Control"] == "private, no-store"
    served = client.get(f"{link}/photos/{photo.id}")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert b"PhoneCam" not in served.data and served.headers["Cache-Control"] == "private, no-store"
    assert "static" not in upload_dir


def test_a_visitor_must_give_an_e_mail_and_a_description(client, session):
    response = client.post("/support", data={**VISITOR, "email": "", "description": " "})
    assert response.status_code == 422
    assert "Enter your e-mail address" in errors(response) and "Tell us what happened" in errors(response)
    assert 'value="CP-UNKNOWN-9"' in response.get_data(as_text=True)  # what was typed is kept
    assert _count(session, SupportTicket) == 0


@pytest.mark.parametrize("payload, filename, message", [
    (b"%PDF-1.7 a document", "invoice.pdf", "not a photo we can read"),
    (b"\xff\xd8\xff" + b"0" * (8 * 1024 * 1024), "huge.jpg", "larger than 8 MB"),
])
def test_a_bad_photo_is_refused_with_the_form_kept(client, session, payload, filename, message):
    data = {**VISITOR, "photo": (io.BytesIO(payload), filename, "image/jpeg")}
    response = client.post("/support", data=data, content_type="multipart/form-data")
    assert response.status_code == 422 and message in errors(response)
    assert "The screen shows E42." in response.get_data(as_text=True)
    assert _count(session, SupportTicket) == 0 and _count(session, TicketPhoto) == 0


def test_the_honeypot_refuses_the_ticket(client, session):
    response = client.post("/support", data={**VISITOR, "website": "http://spam.example"})
    assert response.status_code == 422 and _count(session, SupportTicket) == 0


def test_a_resident_picks_a_charger_and_finds_the_ticket_under_my_tickets(client, session, login):
    site, user, cp = resident_with_access(session)
    session.commit()
    login(client, user)
    form = client.get("/support").get_data(as_text=True)
    assert f'value="{cp.identity}"' in form
    response = client.post("/support", data={"category": "start_stop", "charger": cp.identity,
                                             "description": "It will not start.", "route": "operator"})
    assert response.status_code == 303
    ticket = session.scalar(select(SupportTicket))
    assert (ticket.requester_id, ticket.charge_point_id, ticket.site_id, ticket.access_token_hash) == (
        user.id, cp.id, site.id, None)
    assert response.headers["Location"] == f"/support/tickets/{ticket.id}"
    listing = client.get("/support/tickets").get_data(as_text=True)
    assert "It will not start." in listing and ticket.reference in listing


def test_a_resident_cannot_attach_a_charger_that_is_not_theirs(client, session, login):
    _site, user, _cp = resident_with_access(session)
    _other_site, _other, foreign = resident_with_access(session)
    session.commit()
    login(client, user)
    response = client.post("/support", data={"category": "other", "charger": foreign.identity,
                                             "description": "x", "route": "operator"})
    assert response.status_code == 422 and "Not a valid choice" in errors(response)


def test_the_start_screen_refusal_prefills_the_form(client, session, login):
    _site, user, cp = resident_with_access(session)
    session.commit()
    login(client, user)
    body = client.get(f"/support?charger={cp.identity}&reason=offline").get_data(as_text=True)
    assert f'<option selected value="{cp.identity}">' in body
    assert '<option selected value="charger_fault">' in body
    assert "The charger is not connected to us right now." in body


def test_replies_and_staff_answers_make_a_thread_without_internal_notes(app, client, session, login):
    _site, user, cp = resident_with_access(session)
    support = make_user(session, staff_role="support")
    with app.app_context():
        opened = tickets.open_ticket(session, category="charger_fault", description="Red light.", language="en",
                                     requester=user, charge_point=cp)
        _msg, mail = tickets.add_staff_reply(session, opened.ticket, support, "Please restart it.")
        tickets.add_internal_note(session, opened.ticket, support, "INTERNAL: ground fault yesterday")
    session.commit()
    assert opened.ticket.status == "waiting_for_customer" and opened.ticket.first_response_at is not None
    assert mail.kind == "ticket_reply" and "Please restart it." in mail.body_text
    assert f"/support/tickets/{opened.ticket.id}" in mail.body_text
    login(client, user)
    page = client.get(f"/support/tickets/{opened.ticket.id}").get_data(as_text=True)
    assert "Please restart it." in page and "INTERNAL" not in page
    response = client.post(f"/support/tickets/{opened.ticket.id}/reply", data={"body": "Done, still red."})
    assert response.status_code == 303
    session.expire_all()
    ticket = session.get(SupportTicket, opened.ticket.id)
    assert ticket.status == "open" and [m.body for m in ticket.messages][-1] == "Done, still red."


def test_an_empty_reply_is_refused_and_a_closed_ticket_takes_no_reply(app, client, session, login):
    _site, user, _cp = resident_with_access(session)
    support = make_user(session, staff_role="support")
    opened = tickets.open_ticket(session, category="other", description="Hi", language="en", requester=user)
    session.commit()
    login(client, user)
    url = f"/support/tickets/{opened.ticket.id}/reply"
    assert client.post(url, data={"body": "  "}).status_code == 422
    tickets.change_status(session, opened.ticket, "closed", support)
    session.commit()
    response = client.post(url, data={"body": "hello?"})
    assert response.status_code == 422 and "This request is closed" in response.get_data(as_text=True)
    assert _count(session, TicketMessage) == 1


def test_staff_services_refuse_non_staff_and_bad_states(session):
    _site, user, _cp = resident_with_access(session)
    support = make_user(session, staff_role="support")
    sales = make_user(session, staff_role="sales")
    ticket = tickets.open_ticket(session, category="other", description="Hi", language="en", requester=user).ticket
    for call in (lambda: tickets.add_internal_note(session, ticket, user, "x"),
                 lambda: tickets.change_status(session, ticket, "resolved", sales),
                 lambda: tickets.assign(session, ticket, sales, support),
                 lambda: tickets.change_status(session, ticket, "bogus", support)):
        with pytest.raises(tickets.TicketError):
            call()
    tickets.assign(session, ticket, support, support)
    tickets.change_status(session, ticket, "resolved", support)
    assert ticket.assignee_id == support.id and ticket.resolved_at is not None
    tickets.add_requester_reply(session, ticket, "It broke again", user)
    assert ticket.status == "open" and ticket.resolved_at is None


def test_a_ticket_is_stored_when_redis_is_down(app_config, db, session):
    from portal import create_app
    from tests.conftest import browser_like_client

    app = create_app({**app_config, "REDIS_URL": "redis://127.0.0.1:1/0"})
    client = browser_like_client(app)
    response = client.post("/support", data=VISITOR)
    assert response.status_code == 303
    mail = session.scalar(select(OutboxEmail))
    assert mail.status == "queued" and _count(session, SupportTicket) == 1
    app.extensions["portal_db"].dispose()


def test_another_user_and_a_guessed_link_see_nothing(client, session, login):
    _site, owner, _cp = resident_with_access(session)
    _site2, stranger, _cp2 = resident_with_access(session)
    opened = tickets.open_ticket(session, category="other", description="Private words", language="en",
                                 requester=owner)
    session.commit()
    login(client, stranger)
    assert client.get(f"/support/tickets/{opened.ticket.id}").status_code == 404
    assert client.post(f"/support/tickets/{opened.ticket.id}/reply", data={"body": "x"}).status_code == 404
    assert "Private words" not in client.get("/support/tickets").get_data(as_text=True)
    assert client.get("/support/t/not-a-real-token").status_code == 404


def test_a_start_screen_refusal_that_says_contact_support_links_to_the_prefilled_form(client, session, login):
    _site, user, cp = resident_with_access(session)
    cp.online = False
    session.commit()
    login(client, user)
    body = client.get(f"/c/{cp.identity}").get_data(as_text=True)
    assert 'data-reason="offline"' in body
    assert f'href="/support?charger={cp.identity}&amp;reason=offline#ticket-form"' in body


def test_a_refusal_that_does_not_concern_support_has_no_support_link(client, session, login):
    from tests.factories import make_site

    _site, user, cp = resident_with_access(session)
    other = make_site(session)
    foreign = make_user(session, site=other)
    session.commit()
    login(client, foreign)  # no access to the site: the board is the answer, not support
    body = client.get(f"/c/{cp.identity}").get_data(as_text=True)
    assert "/support?charger=" not in body


def test_a_visitor_replies_through_the_private_link_with_a_photo(client, session):
    response = client.post("/support", data=VISITOR)
    link = response.headers["Location"]
    reply = client.post(f"{link}/reply", data={"body": "Here is the display now.",
                                               "photo": (io.BytesIO(_jpeg()), "now.jpg", "image/jpeg")},
                        content_type="multipart/form-data")
    assert reply.status_code == 303 and reply.headers["Location"] == link
    ticket = session.scalar(select(SupportTicket))
    assert [m.body for m in ticket.messages][-1] == "Here is the display now."
    assert session.scalar(select(TicketPhoto)).message_id == ticket.messages[-1].id
    assert 'data-testid="ticket-photo"' in client.get(link).get_data(as_text=True)


def test_the_honeypot_message_is_visible(client):
    body = client.post("/support", data={**VISITOR, "website": "x"}).get_data(as_text=True)
    assert 'data-testid="honeypot-error"' in body


def test_the_support_queue_lists_open_tickets_oldest_first(session):
    _site, user, _cp = resident_with_access(session)
    support = make_user(session, staff_role="support")
    first = tickets.open_ticket(session, category="other", description="first", language="en", requester=user).ticket
    second = tickets.open_ticket(session, category="other", description="second", language="en", requester=user).ticket
    done = tickets.open_ticket(session, category="other", description="done", language="en", requester=user).ticket
    tickets.change_status(session, done, "resolved", support)
    tickets.assign(session, second, support, support)
    assert [t.id for t in tickets.ticket_queue(session)] == [first.id, second.id]
    assert [t.id for t in tickets.ticket_queue(session, assignee_id=support.id)] == [second.id]


# --- issue 23: the visitor form is no spam relay ----------------------------------------------------

SPAM = {**VISITOR, "name": "Cheap pills at http://spam.example", "email": "victim@example.test",
        "description": "BUY NOW http://spam.example/pills best prices"}


def test_a_visitors_confirmation_carries_no_text_of_the_sender(client, session):
    response = client.post("/support", data=SPAM)
    assert response.status_code == 303
    mail = session.scalar(select(OutboxEmail).where(OutboxEmail.kind == "ticket_confirmation"))
    for part in (mail.subject, mail.body_text, mail.body_html or ""):
        assert "spam.example" not in part and "BUY NOW" not in part and "Cheap pills" not in part
    assert "/support/t/" in mail.body_text  # the neutral note and the private link
    ticket = session.scalar(select(SupportTicket))
    assert ticket.reference in mail.body_text


def test_a_signed_in_residents_confirmation_still_quotes_the_request(client, session, login):
    site, user, cp = resident_with_access(session)
    session.commit()
    login(client, user)
    client.post("/support", data={"category": "start_stop", "charger": cp.identity,
                                  "description": "It will not start.", "route": "operator"})
    mail = session.scalar(select(OutboxEmail).where(OutboxEmail.kind == "ticket_confirmation"))
    assert "It will not start." in mail.body_text


def test_confirmations_to_one_address_are_capped(app_config, db, redis_url, session, caplog):
    import logging

    from redis import Redis

    from portal import create_app
    from tests.conftest import browser_like_client

    app = create_app({**app_config, "RATELIMIT_ENABLED": True})
    caplog.set_level(logging.INFO, logger="portal.auth")
    try:
        for i in range(5):  # from five addresses, each under the form's own limit
            client = browser_like_client(app)
            client.environ_base["REMOTE_ADDR"] = f"198.51.100.{i + 1}"
            assert client.post("/support", data=SPAM).status_code == 303
    finally:
        for key in Redis.from_url(redis_url).scan_iter("*portal-rl*"):
            Redis.from_url(redis_url).delete(key)
        app.extensions["portal_db"].dispose()
    session.expire_all()
    mails = session.scalar(select(func.count()).select_from(OutboxEmail).where(
        OutboxEmail.to_address == "victim@example.test"))
    assert mails == 3  # VISITOR_MAILS_PER_ADDRESS; the tickets themselves still reach support
    refusals = [r.getMessage() for r in caplog.records if "rate limit" in r.getMessage()]
    assert refusals and not any("victim@" in line for line in refusals)  # logged, without the address
    assert _count(session, SupportTicket) == 5
