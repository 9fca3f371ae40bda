"""Subscriptions (the start screen's price follows) and RFID tags (register, name, block; bad input → 422)."""
import pytest
from sqlalchemy import select

from portal.models import IdTag, UserSubscription
from tests.factories import (
    make_charge_point, make_group, make_plan, make_site, make_tariff, make_user, standard_setup,
)

HX = {"HX-Request": "true"}


def test_activating_and_ending_a_subscription_changes_the_start_screen_price(client, login, session):
    site = make_site(session)
    residents = make_plan(session, site, "Residents")
    guests = make_plan(session, site, "Guests")
    base = make_tariff(session, site, name="Base", pricing_type="not_allowed")
    resident_tariff = make_tariff(session, site, name="Residents", fee="3.20", plans=[residents])
    guest_tariff = make_tariff(session, site, name="Guests", fee="4.50", plans=[guests])
    group = make_group(session, site, [base, resident_tariff, guest_tariff])
    cp = make_charge_point(session, site, group=group)
    user = make_user(session, site=site)
    session.commit()
    login(client, user)

    assert 'data-reason="not_allowed"' in client.get(f"/c/{cp.identity}").get_data(as_text=True)
    page = client.get("/subscriptions").get_data(as_text=True)
    assert "Residents" in page and "Guests" in page

    assert client.post(f"/subscriptions/{guests.id}/activate").status_code == 303
    assert "4.50 kr/kWh" in client.get(f"/c/{cp.identity}").get_data(as_text=True)
    fragment = client.post(f"/subscriptions/{residents.id}/activate", headers=HX).get_data(as_text=True)
    assert f'data-plan-id="{residents.id}" data-active="yes"' in fragment and "<html" not in fragment
    assert "3.20 kr/kWh" in client.get(f"/c/{cp.identity}").get_data(as_text=True)  # cheapest restricted wins

    client.post(f"/subscriptions/{residents.id}/deactivate")
    client.post(f"/subscriptions/{guests.id}/deactivate")
    text = client.get(f"/c/{cp.identity}").get_data(as_text=True)
    assert 'data-reason="not_allowed"' in text and "kr/kWh" not in text
    ended = session.scalars(select(UserSubscription).where(UserSubscription.user_id == user.id)).all()
    assert {s.status for s in ended} == {"ended"} and all(s.ended_at for s in ended)


def test_activating_twice_keeps_one_subscription(client, login, session):
    site = make_site(session)
    group, plan = standard_setup(session, site)
    user = make_user(session, site=site)
    session.commit()
    login(client, user)
    client.post(f"/subscriptions/{plan.id}/activate")
    client.post(f"/subscriptions/{plan.id}/activate")
    assert len(session.scalars(select(UserSubscription).where(UserSubscription.user_id == user.id)).all()) == 1


def test_closed_plans_and_other_sites_plans_cannot_be_activated(client, login, session):
    site = make_site(session)
    closed = make_plan(session, site, "Board only")
    closed.active = False
    other = make_site(session)
    foreign = make_plan(session, other, "Foreign")
    user = make_user(session, site=site)
    session.commit()
    login(client, user)
    assert client.post(f"/subscriptions/{closed.id}/activate").status_code == 409
    assert client.post(f"/subscriptions/{foreign.id}/activate").status_code == 404
    assert "Foreign" not in client.get("/subscriptions").get_data(as_text=True)
    assert session.scalars(select(UserSubscription).where(UserSubscription.user_id == user.id)).all() == []


def test_register_name_and_block_a_tag(client, login, session):
    site = make_site(session)
    user = make_user(session, site=site)
    session.commit()
    login(client, user)
    response = client.post("/tags", data={"tag": " 04 A2 B3 C4 ", "name": "Blue fob"})
    assert response.status_code == 303
    tag = session.scalar(select(IdTag).where(IdTag.user_id == user.id, IdTag.kind == "rfid"))
    assert (tag.tag, tag.name, tag.blocked) == ("04A2B3C4", "Blue fob", False)
    page = client.get("/tags").get_data(as_text=True)
    assert 'data-tag="04A2B3C4"' in page and "Blue fob" in page
    assert page.count('data-testid="tag"') == 1  # the app's virtual tag is not listed

    assert client.post(f"/tags/{tag.id}/name", data={"name": "Car keys"}).status_code == 303
    fragment = client.post(f"/tags/{tag.id}/block", headers=HX).get_data(as_text=True)
    assert 'data-blocked="yes"' in fragment
    session.refresh(tag)
    assert tag.blocked and tag.name == "Car keys"
    client.post(f"/tags/{tag.id}/unblock")
    session.refresh(tag)
    assert not tag.blocked


@pytest.mark.parametrize("value", ["", "   ", "A" * 21, "ÆØÅ123", "tag\x00x", "bad\ttag\nx" + "y" * 20])
def test_bad_tag_numbers_are_422_with_a_message(client, login, session, value):
    user = make_user(session, site=make_site(session))
    session.commit()
    login(client, user)
    response = client.post("/tags", data={"tag": value, "name": ""}, headers=HX)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert 'class="field-error"' in text and 'aria-invalid="true"' in text
    assert session.scalars(select(IdTag).where(IdTag.user_id == user.id, IdTag.kind == "rfid")).all() == []


def test_a_tag_already_registered_is_refused_without_saying_whose(client, login, session):
    site = make_site(session)
    owner = make_user(session, "owner@example.test", site=site)
    session.add(IdTag(tag="CARD-1", user_id=owner.id, kind="rfid"))
    user = make_user(session, site=site)
    session.commit()
    login(client, user)
    response = client.post("/tags", data={"tag": "CARD-1"})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "already registered" in text and "owner@example.test" not in text


def test_bad_tag_name_is_422(client, login, session):
    user = make_user(session, site=make_site(session))
    session.add(IdTag(tag="CARD-2", user_id=user.id, kind="rfid"))
    session.commit()
    login(client, user)
    assert client.post("/tags", data={"tag": "CARD-3", "name": "x" * 61}).status_code == 422
    tag = session.scalar(select(IdTag).where(IdTag.tag == "CARD-2"))
    response = client.post(f"/tags/{tag.id}/name", data={"name": "bad\x07name"})
    assert response.status_code == 422 and 'role="alert"' in response.get_data(as_text=True)


def test_other_peoples_tags_cannot_be_touched(client, login, session):
    site = make_site(session)
    owner = make_user(session, site=site)
    session.add(IdTag(tag="CARD-9", user_id=owner.id, kind="rfid"))
    user = make_user(session, site=site)
    session.commit()
    tag = session.scalar(select(IdTag).where(IdTag.tag == "CARD-9"))
    virtual = session.scalar(select(IdTag).where(IdTag.user_id == user.id, IdTag.kind == "virtual"))
    login(client, user)
    assert client.post(f"/tags/{tag.id}/block").status_code == 404
    assert client.post(f"/tags/{tag.id}/name", data={"name": "mine"}).status_code == 404
    assert client.post(f"/tags/{virtual.id}/block").status_code == 404  # the app's own tag is not a card
    assert "CARD-9" not in client.get("/tags").get_data(as_text=True)


def test_pages_need_login(client, session):
    for url in ("/chargers", "/favorites", "/history", "/history.csv", "/subscriptions", "/tags"):
        response = client.get(url)
        assert response.status_code in (302, 303) and "/login" in response.headers["Location"], url
