"""/contact/sales: org numbers checked by python-stdnum, honeypot, rate limit per address, the lead and
both e-mails (confirmation in the requester's language, notification to sales)."""
from __future__ import annotations

import re

import pytest
from redis import Redis
from sqlalchemy import select

from portal.models import Lead, OutboxEmail
from portal.services.sales import leads
from tests.conftest import browser_like_client
from tests.factories import make_user

QUOTE = {"org_type": "housing_cooperative", "org_name": "Eikelia borettslag", "org_number": "923 609 016",
         "contact_name": "Eva Eik", "contact_role": "Chair", "email": "eva@example.test", "phone": "+47 400 00 000",
         "parking_spaces": "64", "kind": "takeover", "message": "We have 20 chargers today.", "consent": "y"}


def errors(response) -> str:
    return " ".join(re.findall(r'class="field-error"[^>]*>([^<]*)<', response.get_data(as_text=True)))


def test_a_quote_request_is_stored_and_both_e_mails_are_queued(client, session):
    response = client.post("/contact/sales", data=QUOTE)
    assert response.status_code == 303 and response.headers["Location"] == "/contact/sales/sent"
    lead = session.scalar(select(Lead))
    assert (lead.status, lead.org_number, lead.country, lead.parking_spaces, lead.kind, lead.language) == (
        "new", "923609016", "NO", 64, "takeover", "en")
    mails = {m.kind: m for m in session.scalars(select(OutboxEmail))}
    assert mails["lead_confirmation"].to_address == "eva@example.test"
    assert mails["lead_confirmation"].language == "en" and "Eikelia borettslag" in mails["lead_confirmation"].body_text
    assert mails["lead_notification"].to_address == client.application.config["SALES_EMAIL"]
    assert "eva@example.test" in mails["lead_notification"].body_text
    # Sales read the organisation type and the need in words (SALES_LANGUAGE, bokmål), not as codes.
    assert "housing_cooperative" not in mails["lead_notification"].body_text
    assert "takeover" not in mails["lead_notification"].body_text


def test_a_swedish_requester_gets_the_confirmation_in_swedish(client, session):
    client.set_cookie("lang", "sv")
    assert client.post("/contact/sales", data={**QUOTE, "org_number": "556036-0793"}).status_code == 303
    lead = session.scalar(select(Lead))
    assert (lead.country, lead.org_number, lead.language) == ("SE", "5560360793", "sv")
    confirmation = session.scalar(select(OutboxEmail).where(OutboxEmail.kind == "lead_confirmation"))
    assert confirmation.language == "sv" and "Tack" in confirmation.body_text


@pytest.mark.parametrize("number, message", [
    ("923 609 017", "a check digit is wrong"),
    ("556036-0794", "a check digit is wrong"),
    ("12345", "Enter a Norwegian organisation number"),
    ("ABC123456", "Enter a Norwegian organisation number"),
])
def test_a_wrong_org_number_is_refused_with_the_form_kept(client, session, number, message):
    response = client.post("/contact/sales", data={**QUOTE, "org_number": number})
    assert response.status_code == 422 and message in errors(response)
    body = response.get_data(as_text=True)
    assert 'value="Eikelia borettslag"' in body and "We have 20 chargers today." in body
    assert session.scalar(select(Lead)) is None


@pytest.mark.parametrize("change, message", [
    ({"parking_spaces": "many"}, "Not a valid integer value"),
    ({"parking_spaces": "0"}, "between 1 and 100 000"),
    ({"org_type": "castle"}, "Not a valid choice"),
    ({"kind": ""}, "Choose what you need."),
    ({"consent": ""}, "Tick the box to agree"),
    ({"email": "eva@"}, "Enter a valid e-mail address"),
    ({"org_name": "Eik\x00lia"}, "Use letters, digits and punctuation only."),
])
def test_other_bad_input_is_explained(client, session, change, message):
    data = {k: v for k, v in {**QUOTE, **change}.items() if v != ""}
    response = client.post("/contact/sales", data=data)
    assert response.status_code == 422 and message in errors(response)
    assert session.scalar(select(Lead)) is None


def test_the_honeypot_stores_nothing(client, session):
    response = client.post("/contact/sales", data={**QUOTE, "website": "http://cheap-pills.example"})
    assert response.status_code == 422 and 'data-testid="honeypot-error"' in response.get_data(as_text=True)
    assert session.scalar(select(Lead)) is None and session.scalar(select(OutboxEmail)) is None


def test_the_error_in_swedish(client):
    client.set_cookie("lang", "sv")
    response = client.post("/contact/sales", data={**QUOTE, "org_number": "923609017"})
    assert response.status_code == 422 and "kontrollsiffra" in errors(response)


@pytest.fixture
def limited_client(app_config, db, redis_url):
    from portal import create_app

    app = create_app({**app_config, "RATELIMIT_ENABLED": True})
    yield browser_like_client(app)
    r = Redis.from_url(redis_url)
    for key in r.scan_iter("*portal-rl*"):
        r.delete(key)
    app.extensions["portal_db"].dispose()


def test_quote_requests_from_one_address_are_limited_and_the_form_is_kept(limited_client, session):
    codes = [limited_client.post("/contact/sales", data={**QUOTE, "org_number": "1"}).status_code for _ in range(5)]
    assert codes == [422] * 5
    blocked = limited_client.post("/contact/sales", data=QUOTE)
    body = blocked.get_data(as_text=True)
    assert blocked.status_code == 429 and 'data-testid="rate-limited"' in body and 'value="Eikelia borettslag"' in body
    assert session.scalar(select(Lead)) is None


def test_lead_follow_up_is_for_sales(session):
    board, sales = make_user(session), make_user(session, staff_role="sales")
    lead = leads.create_lead(session, leads.LeadRequest(
        org_type="commercial", org_name="Kontorbygg AS", org_number="923609016", contact_name="K", contact_role="",
        email="k@example.test", phone="1", parking_spaces=10, kind="new_installation", message="", language="nb"))
    with pytest.raises(leads.LeadError):
        leads.change_status(session, lead, "contacted", board)
    leads.change_status(session, lead, "offer_sent", sales)
    leads.assign(session, lead, sales, sales)
    leads.set_follow_up(session, lead, sales, notes="Call Tuesday")
    assert (lead.status, lead.assignee_id, lead.notes) == ("offer_sent", sales.id, "Call Tuesday")
    with pytest.raises(leads.LeadError):
        leads.assign(session, lead, board, sales)
