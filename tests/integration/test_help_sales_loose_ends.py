"""Issue 19 loose ends on the visitor side: phone numbers checked on every visitor form and stored in
E.164, the order number and the tracking page, the tracking link in every order status e-mail and the
private link in every e-mail about a visitor's ticket (real SMTP), price and contents on /order/<site>."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.models import ChargerOrder, Lead, SupportTicket
from tests.factories import make_site, make_user
from tests.support.mail import run_mail_jobs, text_part

TICKET = {"category": "charger_fault", "charger_identity": "CP-9", "description": "The screen shows E42.",
          "name": "Vera Visitor", "email": "vera@example.test", "route": "operator", "website": ""}
ORDER = {"name": "Ola Nordmann", "email": "ola@example.test", "parking_space": "P-7", "charger_model": "Home 11 kW",
         "consent": "y", "website": ""}
QUOTE = {"org_type": "housing_cooperative", "org_name": "Eikelia borettslag", "org_number": "923 609 016",
         "contact_name": "Eva Eik", "email": "eva@example.test", "parking_spaces": "64", "kind": "takeover",
         "consent": "y"}
FORMS = {  # url, data without the phone, the model and its phone column
    "ticket": ("/support", TICKET, SupportTicket, "requester_phone"),
    "order": ("/order/bjorkasen", ORDER, ChargerOrder, "phone"),
    "quote": ("/contact/sales", QUOTE, Lead, "phone"),
}


@pytest.fixture
def coop(session):
    site = make_site(session, "bjorkasen", name="Bjørkåsen borettslag", address="Bjørkåsveien 5", postcode="0591",
                     city="Oslo", order_charger_model="Home 11 kW", order_price="14 900 kr incl. VAT",
                     order_included="Charger 11 kW\n- Installation by an approved electrician\nSet-up in the portal")
    session.commit()
    return site


def _field_error(response) -> str:
    return " ".join(re.findall(r'class="field-error"[^>]*>([^<]*)<', response.get_data(as_text=True)))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("typed, message", [
    ("12345", "This is not a phone number we can call"),
    ("+49 30 12345678", "Enter a Norwegian or Swedish phone number"),
    ("912 34 56x", "This is not a phone number we can call"),
])
def test_a_bad_phone_number_is_refused_with_what_was_typed_kept(client, session, coop, form, typed, message):
    url, data, model, _column = FORMS[form]
    response = client.post(url, data={**data, "phone": typed})
    assert response.status_code == 422, form
    assert message in _field_error(response)
    assert f'value="{typed}"' in response.get_data(as_text=True)
    assert session.scalar(select(model)) is None


def test_the_phone_message_is_in_the_readers_language(client, session, coop):
    client.set_cookie("lang", "nb")
    response = client.post("/order/bjorkasen", data={**ORDER, "phone": "12345"})
    assert "Dette er ikke et telefonnummer vi kan ringe" in _field_error(response)
    client.set_cookie("lang", "sv")
    response = client.post("/order/bjorkasen", data={**ORDER, "phone": "+49 30 12345678"})
    assert "Ange ett norskt eller svenskt telefonnummer" in _field_error(response)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("language, typed, stored", [
    ("nb", "912 34 567", "+4791234567"),
    ("nb", "0046 70 123 45 67", "+46701234567"),
    ("sv", "070-123 45 67", "+46701234567"),   # a Swedish reader's number without +46
    ("sv", "+47 22 12 34 56", "+4722123456"),
])
def test_a_good_phone_number_is_stored_in_e164(client, session, coop, form, language, typed, stored):
    url, data, model, column = FORMS[form]
    client.set_cookie("lang", language)
    assert client.post(url, data={**data, "phone": typed}).status_code == 303, form
    assert getattr(session.scalar(select(model)), column) == stored


def test_the_ordering_page_shows_the_price_and_what_is_included(client, coop):
    body = client.get("/order/bjorkasen").get_data(as_text=True)
    assert "14 900 kr incl. VAT" in body
    included = re.search(r'data-testid="order-included">(.*?)</ul>', body, re.S).group(1)
    assert re.findall(r"<li>([^<]*)</li>", included) == [
        "Charger 11 kW", "Installation by an approved electrician", "Set-up in the portal"]


def test_the_board_sets_the_price_and_contents(client, session, coop, login):
    board = make_user(session, site=coop, role="board")
    session.commit()
    login(client, board)
    response = client.post("/manage/bjorkasen/ordering", data={
        "address": coop.address, "postcode": coop.postcode, "city": coop.city, "order_charger_model": "Home 11 kW",
        "order_price": "12 500 kr", "order_included": "Charger\nCable holder"})
    assert response.status_code == 303
    body = client.get("/order/bjorkasen").get_data(as_text=True)
    assert "12 500 kr" in body and "<li>Cable holder</li>" in body


def _place(client, session) -> tuple[ChargerOrder, str]:
    response = client.post("/order/bjorkasen", data={**ORDER, "phone": "912 34 567"})
    assert response.status_code == 303
    return session.scalar(select(ChargerOrder)), response.headers["Location"]


def test_the_order_number_and_a_tracking_page_that_follows_the_status(client, session, coop, login):
    order, link = _place(client, session)
    assert re.fullmatch(r"B-\d{5}", order.reference) and order.reference.endswith(str(order.id))
    page = client.get(link).get_data(as_text=True)
    assert f'data-testid="order-number">{order.reference}<' in page
    assert "We have your order and are booking an approved electrician" in page
    assert re.search(r'aria-current="step"[^>]*>Received<', page)
    sales = make_user(session, staff_role="sales")
    session.commit()
    login(client, sales)
    client.post(f"/staff/orders/{order.id}", data={"status": "installed", "assignee": "", "notes": ""})
    page = client.get(link).get_data(as_text=True)
    assert "The charger is installed." in page and re.search(r'aria-current="step"[^>]*>Installed<', page)
    assert "We have your order" not in page


def test_every_order_status_e_mail_carries_the_number_and_the_tracking_link(client, session, coop, login, smtp,
                                                                          redis_url):
    order, link = _place(client, session)
    run_mail_jobs(redis_url)
    confirmation = [m for m in smtp.wait_for(2) if m["To"] == "ola@example.test"][0]
    assert order.reference in confirmation["Subject"] and f"http://portal.test{link}" in text_part(confirmation)
    sales = make_user(session, staff_role="sales")
    session.commit()
    login(client, sales)
    for n, status in enumerate(("installer_booked", "configured"), start=3):
        client.post(f"/staff/orders/{order.id}", data={"status": status, "assignee": "", "notes": ""})
        run_mail_jobs(redis_url)
        mail = smtp.wait_for(n)[-1]
        text = text_part(mail)
        assert mail["To"] == "ola@example.test" and order.reference in mail["Subject"]
        assert f"http://portal.test{link}" in text  # the same private link as in the confirmation
        html = mail.get_body(preferencelist=("html",)).get_content()
        assert f'href="http://portal.test{link}"' in html
    assert "scan the sticker" in text
    someone = make_user(session)
    session.commit()
    login(client, someone)  # someone else, signed in: the link itself still opens the page
    assert client.get(link).status_code == 200
    assert client.get(f"/order/orders/{order.id}").status_code == 404


def test_a_reply_to_a_visitor_carries_the_private_link(client, session, login, smtp, redis_url):
    response = client.post("/support", data={**TICKET, "phone": ""})
    link = response.headers["Location"]
    ticket = session.scalar(select(SupportTicket))
    support = make_user(session, staff_role="support")
    session.commit()
    login(client, support)
    assert client.post(f"/staff/tickets/{ticket.id}/reply", data={"reply-body": "Try a restart."}).status_code == 303
    run_mail_jobs(redis_url)
    mails = smtp.wait_for(2)
    reply = [m for m in mails if "answered" in m["Subject"]][0]
    text = text_part(reply)
    assert "Try a restart." in text and f"http://portal.test{link}" in text
    thread = client.get(link)
    assert thread.status_code == 200 and "Try a restart." in thread.get_data(as_text=True)


def test_a_link_made_before_seeds_were_kept_is_replaced_in_the_next_e_mail(client, session, smtp, redis_url, login):
    response = client.post("/support", data={**TICKET, "phone": ""})
    old_link = response.headers["Location"]
    ticket = session.scalar(select(SupportTicket))
    ticket.access_token_seed = None  # as for a ticket opened before this change
    support = make_user(session, staff_role="support")
    session.commit()
    login(client, support)
    client.post(f"/staff/tickets/{ticket.id}/reply", data={"reply-body": "Here is a new link."})
    run_mail_jobs(redis_url)
    reply = [m for m in smtp.wait_for(2) if "answered" in m["Subject"]][0]
    new_link = re.search(r"http://portal\.test(/support/t/\S+)", text_part(reply)).group(1)
    assert new_link != old_link
    assert client.get(new_link).status_code == 200 and client.get(old_link).status_code == 404


def test_a_reply_on_a_withdrawn_link_says_how_to_get_a_new_one(client, session, smtp, redis_url, login):
    client.post("/support", data={**TICKET, "phone": ""})
    ticket = session.scalar(select(SupportTicket))
    ticket.access_token_hash = None  # withdrawn (retention, or the person's erasure)
    support = make_user(session, staff_role="support")
    session.commit()
    login(client, support)
    client.post(f"/staff/tickets/{ticket.id}/reply", data={"reply-body": "Answer."})
    run_mail_jobs(redis_url)
    text = text_part([m for m in smtp.wait_for(2) if "answered" in m["Subject"]][0])
    assert "/support/t/" not in text and "http://portal.test/links" in text
    session.expire_all()
    assert session.get(SupportTicket, ticket.id).access_token_hash is None  # no link made behind its back
