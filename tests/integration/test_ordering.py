"""/order: tolerant cooperative search, the ordering page with and without agreement, the order itself,
its e-mails, and who may see an order afterwards."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.models import ChargerOrder, OutboxEmail
from portal.services.sales import orders
from portal.services.sales.site_search import search_sites
from tests.factories import make_site, make_user


@pytest.fixture
def coops(session):
    sites = {
        "bjorkasen": make_site(session, "bjorkasen", name="Bjørkåsen borettslag", org_number="931002007",
                               address="Bjørkåsveien 5", postcode="0591", city="Oslo",
                               order_delivery_time="4–6 weeks", order_charger_model="Home 11 kW\nHome 22 kW",
                               order_instructions="Order for your own space."),
        "aerfuglen": make_site(session, "aerfuglen", name="Ærfuglen sameie", org_number="967 003 212",
                               address="Ærfuglveien 2", postcode="5003", city="Bergen", agreement_status="none"),
        "malar": make_site(session, "malar", name="BRF Mälarhöjden", org_number="716420-5556",
                           address="Sjövägen 8", postcode="118 20", city="Stockholm", country="SE", currency="SEK"),
    }
    session.commit()
    return sites


@pytest.mark.parametrize("query, slug", [
    ("bjorkas", "bjorkasen"), ("BJØRKÅSEN", "bjorkasen"), ("Bjorkasveien", "bjorkasen"), ("0591", "bjorkasen"),
    ("borettslag oslo", "bjorkasen"), ("931 002 007", "bjorkasen"), ("931-002-007", "bjorkasen"),
    ("aerfugl", "aerfuglen"), ("ærfugl", "aerfuglen"), ("967003212", "aerfuglen"),
    ("malarhojden", "malar"), ("MÄLARHÖJD", "malar"), ("7164205556", "malar"), ("716420-5556", "malar"),
])
def test_search_is_tolerant(session, coops, query, slug):
    assert [s.slug for s in search_sites(session, query)] == [slug]


@pytest.mark.parametrize("query", ["", " ", "a", "zzzz", "%", "_", "'; DROP TABLE sites; --"])
def test_search_finds_nothing_for_nonsense_and_never_fails(session, coops, query):
    assert search_sites(session, query) == []


def test_the_search_page_answers_htmx_with_only_the_results(client, coops):
    page = client.get("/order?q=bjorkas")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    fragment = client.get("/order?q=bjorkas", headers={"HX-Request": "true"})
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and 'data-slug="bjorkasen"' in body and "HX-Request" in fragment.headers["Vary"]
    assert "no-sites" in client.get("/order?q=nowhere", headers={"HX-Request": "true"}).get_data(as_text=True)


def test_a_cooperative_with_an_agreement_shows_how_ordering_works(client, coops):
    body = client.get("/order/bjorkasen").get_data(as_text=True)
    assert "4–6 weeks" in body and "Home 22 kW" in body and "Order for your own space." in body
    assert 'data-testid="order-form"' in body


def test_a_cooperative_without_an_agreement_sends_the_resident_to_the_board(client, coops):
    body = client.get("/order/aerfuglen").get_data(as_text=True)
    assert 'data-testid="no-agreement"' in body and 'data-testid="order-form"' not in body
    assert "/contact/sales?site=aerfuglen" in body
    quote = client.get("/contact/sales?site=aerfuglen").get_data(as_text=True)
    assert 'value="Ærfuglen sameie"' in quote and 'value="967 003 212"' in quote
    assert client.post("/order/aerfuglen", data={"name": "x"}).status_code == 422


ORDER = {"name": "Ola Nordmann", "email": "ola@example.test", "phone": "+47 900 00 001", "parking_space": "P-7",
         "charger_model": "Home 22 kW", "consent": "y", "website": ""}


def test_an_order_is_stored_confirmed_and_announced_to_sales(client, session, coops):
    response = client.post("/order/bjorkasen", data=ORDER)
    assert response.status_code == 303
    order = session.scalar(select(ChargerOrder))
    assert (order.status, order.site_id, order.parking_space, order.charger_model, order.user_id) == (
        "received", coops["bjorkasen"].id, "P-7", "Home 22 kW", None)
    mails = {m.kind: m for m in session.scalars(select(OutboxEmail))}
    assert mails["order_confirmation"].to_address == "ola@example.test"
    assert mails["order_notification"].to_address == client.application.config["SALES_EMAIL"]
    link = response.headers["Location"]
    assert f"http://portal.test{link}" in mails["order_confirmation"].body_text
    status = client.get(link).get_data(as_text=True)
    assert "P-7" in status and "Received" in status


@pytest.mark.parametrize("change, field_error", [
    ({"name": "  "}, "This field is required."),
    ({"email": "not-an-address"}, "Enter a valid e-mail address"),
    ({"consent": ""}, "Tick the box to agree"),
    ({"charger_model": "Rocket 350 kW"}, "Not a valid choice"),
    ({"parking_space": "x" * 41}, "cannot be longer than"),
    ({"website": "I am a bot"}, "This form could not be sent"),
])
def test_a_bad_order_is_refused_with_what_was_typed_kept(client, session, coops, change, field_error):
    data = {k: v for k, v in {**ORDER, **change}.items() if v != ""}
    response = client.post("/order/bjorkasen", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and field_error in body
    assert 'value="+47 900 00 001"' in body
    assert session.scalar(select(ChargerOrder)) is None


@pytest.mark.parametrize("model", ["", None])
def test_an_order_without_a_charger_model_is_a_form_error_not_a_500(client, session, coops, model):
    """Issue 23: an empty (or missing) charger model answered 500 at a site that offers models."""
    data = {k: v for k, v in ORDER.items() if k != "charger_model"}
    if model is not None:
        data["charger_model"] = model
    response = client.post("/order/bjorkasen", data=data)
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Choose one of the chargers offered here." in body
    assert 'value="+47 900 00 001"' in body and 'value="P-7"' in body
    assert session.scalar(select(ChargerOrder)) is None


def test_unknown_cooperative_is_404(client):
    assert client.get("/order/no-such-coop").status_code == 404


def test_a_signed_in_resident_sees_their_order_and_nobody_else_does(client, session, coops, login):
    owner, other = make_user(session), make_user(session)
    sales = make_user(session, staff_role="sales")
    session.commit()
    login(client, owner)
    assert client.post("/order/bjorkasen", data=ORDER).status_code == 303
    order = session.scalar(select(ChargerOrder))
    assert order.user_id == owner.id
    assert "P-7" in client.get("/order").get_data(as_text=True)
    assert client.get(f"/order/orders/{order.id}").status_code == 200
    login(client, other)
    assert client.get(f"/order/orders/{order.id}").status_code == 404
    assert "P-7" not in client.get("/order").get_data(as_text=True)
    login(client, sales)
    assert client.get(f"/order/orders/{order.id}").status_code == 200
    assert client.get("/order/o/guessed-token").status_code == 404


def test_order_status_changes_by_sales_only(session, coops):
    resident, sales = make_user(session), make_user(session, staff_role="sales")
    placed = orders.place_order(session, coops["bjorkasen"], name="A", email="a@example.test", phone="1",
                                parking_space="1", charger_model="Home 11 kW", language="en")
    with pytest.raises(orders.OrderError):
        orders.change_status(session, placed.order, "installed", resident)
    orders.change_status(session, placed.order, "configured", sales)
    with pytest.raises(orders.OrderError):
        orders.change_status(session, placed.order, "cancelled", sales)
    with pytest.raises(orders.OrderError):
        orders.place_order(session, coops["aerfuglen"], name="A", email="a@example.test", phone="1",
                           parking_space="1", charger_model="", language="en")


def test_a_search_result_links_to_the_ordering_page(client, coops):
    body = client.get("/order?q=oslo").get_data(as_text=True)
    assert re.search(r'href="/order/bjorkasen"', body)


def test_the_board_edits_the_ordering_page_and_a_resident_cannot(client, session, coops, login):
    site = coops["aerfuglen"]
    board = make_user(session, site=site, role="board")
    resident = make_user(session, site=site)
    session.commit()
    login(client, resident)
    assert client.get(f"/manage/{site.slug}/ordering").status_code == 403
    login(client, board)
    assert client.get(f"/manage/{site.slug}/ordering").status_code == 200
    response = client.post(f"/manage/{site.slug}/ordering", data={
        "address": "Ærfuglveien 4", "postcode": "5004", "city": "Bergen", "order_delivery_time": "2 weeks",
        "order_charger_model": "Wallbox A\nWallbox B", "order_instructions": "Call the caretaker first."})
    assert response.status_code == 303
    session.expire_all()
    site = session.get(type(site), site.id)
    assert (site.order_delivery_time, orders.offered_models(site)) == ("2 weeks", ["Wallbox A", "Wallbox B"])
    assert [s.slug for s in search_sites(session, "aerfuglveien 4")] == ["aerfuglen"]  # search text follows
    too_long = client.post(f"/manage/{site.slug}/ordering", data={"order_delivery_time": "x" * 121})
    assert too_long.status_code == 422


def test_orders_and_quotes_are_stored_when_redis_is_down(app_config, db, session, coops):
    from portal import create_app
    from tests.conftest import browser_like_client

    app = create_app({**app_config, "REDIS_URL": "redis://127.0.0.1:1/0"})
    client = browser_like_client(app)
    assert client.post("/order/bjorkasen", data=ORDER).status_code == 303
    quote = {"org_type": "condominium", "org_name": "Sameiet", "org_number": "923609016", "contact_name": "S",
             "email": "s@example.test", "phone": "912 34 567", "parking_spaces": "5", "kind": "new_installation",
             "consent": "y"}
    assert client.post("/contact/sales", data=quote).status_code == 303
    assert session.scalar(select(ChargerOrder)) is not None
    from portal.models import Lead

    assert session.scalar(select(Lead)) is not None
    assert {m.status for m in session.scalars(select(OutboxEmail))} == {"queued"}
    assert len(session.scalars(select(OutboxEmail)).all()) == 4
    app.extensions["portal_db"].dispose()


def test_recent_orders_for_sales(session, coops):
    a = orders.place_order(session, coops["bjorkasen"], name="A", email="a@example.test", phone="1",
                           parking_space="1", charger_model="Home 11 kW", language="en").order
    b = orders.place_order(session, coops["bjorkasen"], name="B", email="b@example.test", phone="1",
                           parking_space="2", charger_model="Home 11 kW", language="en").order
    orders.change_status(session, b, "cancelled", make_user(session, staff_role="sales"))
    assert {o.id for o in orders.recent_orders(session)} == {a.id, b.id}
    assert [o.id for o in orders.recent_orders(session, "received")] == [a.id]
