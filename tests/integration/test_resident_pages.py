"""Resident pages: my chargers, start screen (price, refusals, log-in return), favourites, access across sites."""

from sqlalchemy import select

from portal.models import Favourite
from tests.factories import (
    make_charge_point, make_plan, make_site, make_tariff, make_group, make_user, resident_with_access,
    standard_setup, subscribe,
)


def test_logged_out_visitor_sees_the_charger_and_a_login_link_back(client, session):
    site, user, cp = resident_with_access(session)
    cp.name = "Garage B"
    session.commit()
    page = client.get(f"/c/{cp.identity}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Garage B" in text and 'data-testid="login-link"' in text
    assert f"next=/c/{cp.identity}" in text or f"next=%2Fc%2F{cp.identity}" in text
    assert "3.20" not in text and "3,20" not in text  # no price before log-in


def test_login_returns_to_the_start_screen(client, session):
    from tests.factories import PASSWORD

    site, user, cp = resident_with_access(session)
    session.commit()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "next": f"/c/{cp.identity}"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/c/{cp.identity}")


def test_start_screen_shows_the_one_price_and_minimum_and_promises_no_card_hold(client, login, session):
    site = make_site(session)
    plan = make_plan(session, site)
    base = make_tariff(session, site, name="Base", pricing_type="not_allowed")
    residents = make_tariff(session, site, name="Residents", fee="3.20", min_minor=500, preauth_minor=30000,
                            plans=[plan])
    cheap_open = make_tariff(session, site, name="Everyone", fee="2.00")  # unrestricted: loses to restricted
    group = make_group(session, site, [base, residents, cheap_open])
    user = make_user(session, site=site)
    subscribe(session, user, plan)
    cp = make_charge_point(session, site, group=group, connectors=2)
    session.commit()
    login(client, user)
    page = client.get(f"/c/{cp.identity}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "3.20 kr/kWh" in text  # English locale writes a dot
    assert 'data-testid="min-price"' in text and "5.00 kr" in text
    # No card payment exists: the pre-authorisation amount is never presented as a hold on a card.
    assert 'data-testid="preauth"' not in text and "300.00 kr" not in text
    assert "card" not in text.lower() and 'data-testid="billing-note"' in text
    assert 'data-testid="start-button"' in text
    assert text.count('name="connector"') == 2  # outlet choice when there are several


def test_price_local_way_in_norwegian(client, login, session):
    site, user, cp = resident_with_access(session, fee="3.20")
    session.commit()
    login(client, user)
    client.set_cookie("lang", "nb")
    assert "3,20 kr/kWh" in client.get(f"/c/{cp.identity}").get_data(as_text=True)


def test_refusals_in_plain_words(client, login, session):
    site, user, cp = resident_with_access(session)
    cp.online = False
    session.commit()
    login(client, user)
    text = client.get(f"/c/{cp.identity}").get_data(as_text=True)
    assert 'data-reason="offline"' in text and "not connected" in text
    assert 'data-testid="start-button"' not in text


def test_every_reason_code_has_words():
    from portal.refusals import START, START_FALLBACK
    from portal.services.charging.access import REASONS

    for reason in REASONS:
        assert reason in START, reason
        assert START[reason] != START_FALLBACK


def test_no_subscription_says_activate_one(client, login, session):
    site = make_site(session)
    group, plan = standard_setup(session, site)
    user = make_user(session, site=site)
    cp = make_charge_point(session, site, group=group)
    session.commit()
    login(client, user)
    text = client.get(f"/c/{cp.identity}").get_data(as_text=True)
    assert 'data-reason="not_allowed"' in text and "/subscriptions" in text


def test_resident_of_another_site_gets_a_clear_refusal_without_data(client, login, session):
    site, user, cp = resident_with_access(session)
    other = make_site(session, name="Secret Gardens")
    group, _ = standard_setup(session, other, fee="9.99")
    other_cp = make_charge_point(session, other, "CP-SECRET-1", group=group, name="Hidden garage")
    session.commit()
    login(client, user)
    for url in (f"/c/{other_cp.identity}", f"/c/{other_cp.identity}/qr.svg"):
        response = client.get(url)
        assert response.status_code == 403, url
        text = response.get_data(as_text=True)
        assert "Secret Gardens" not in text and "Hidden garage" not in text and "9.99" not in text
    assert client.post(f"/c/{other_cp.identity}/start", data={"connector": "1"}).status_code == 403
    assert client.post(f"/c/{other_cp.identity}/favourite").status_code == 403
    assert client.post(f"/sites/{other.slug}/favourite").status_code == 403
    chargers = client.get("/chargers").get_data(as_text=True)
    assert "CP-SECRET-1" not in chargers and other.name not in chargers
    assert client.get("/c/NO-SUCH-CP").status_code == 404


def test_my_chargers_lists_sites_with_plain_statuses(client, login, session):
    site, user, cp = resident_with_access(session)
    make_charge_point(session, site, "CP-OFF", online=False)
    make_charge_point(session, site, "CP-FAULT", status="Faulted")
    make_charge_point(session, site, "CP-BUSY", status="Charging")
    make_charge_point(session, site, "CP-DIS", enabled=False)
    session.commit()
    login(client, user)
    text = client.get("/chargers").get_data(as_text=True)
    for state in ("available", "offline", "faulted", "busy", "disabled"):
        assert f'data-state="{state}"' in text, state
    assert site.name in text


def test_favourites_add_list_and_one_tap_remove(client, login, session):
    site, user, cp = resident_with_access(session)
    session.commit()
    login(client, user)
    response = client.post(f"/c/{cp.identity}/favourite", data={"next": f"/c/{cp.identity}"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/c/{cp.identity}")
    assert client.post(f"/sites/{site.slug}/favourite", data={"next": "/chargers"}).status_code == 303
    page = client.get("/favorites").get_data(as_text=True)
    assert f'href="/c/{cp.identity}"' in page and site.name in page
    favs = session.scalars(select(Favourite).where(Favourite.user_id == user.id)).all()
    assert len(favs) == 2
    # htmx removal returns an empty fragment so the row disappears
    response = client.post(f"/favorites/{favs[0].id}/remove", headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    response = client.post(f"/favorites/{favs[1].id}/remove")
    assert response.status_code == 303
    session.expire_all()
    assert session.scalars(select(Favourite).where(Favourite.user_id == user.id)).all() == []


def test_favourite_toggle_fragment_and_no_other_users_favourite(client, login, session):
    site, user, cp = resident_with_access(session)
    neighbour = make_user(session, site=site)
    session.commit()
    login(client, user)
    fragment = client.post(f"/c/{cp.identity}/favourite", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-favourite="yes"' in fragment and "<html" not in fragment
    fav = session.scalar(select(Favourite).where(Favourite.user_id == user.id))
    login(client, neighbour)
    assert client.post(f"/favorites/{fav.id}/remove").status_code == 404
    login(client, user)
    fragment = client.post(f"/c/{cp.identity}/favourite", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'data-favourite="no"' in fragment


def test_favourites_page_hides_what_the_user_can_no_longer_see(client, login, session):
    site, user, cp = resident_with_access(session)
    other = make_site(session)
    other_cp = make_charge_point(session, other, "CP-GONE")
    session.add(Favourite(user_id=user.id, charge_point_id=other_cp.id))
    session.commit()
    login(client, user)
    assert "CP-GONE" not in client.get("/favorites").get_data(as_text=True)


def test_owner_sets_authentication_on_a_personal_charger(client, login, session):
    site, user, cp = resident_with_access(session)
    cp.cp_type, cp.owner_id = "personal", user.id
    neighbour = make_user(session, site=site)
    session.commit()
    login(client, user)
    assert 'data-testid="auth-setting"' in client.get(f"/c/{cp.identity}").get_data(as_text=True)
    assert client.post(f"/c/{cp.identity}/authentication", data={"auth": "not_required"}).status_code == 303
    session.refresh(cp)
    assert cp.auth_required is False and cp.autostart
    assert client.post(f"/c/{cp.identity}/authentication", data={"auth": "maybe"}).status_code == 422
    login(client, neighbour)
    assert client.post(f"/c/{cp.identity}/authentication", data={"auth": "required"}).status_code == 403
    session.refresh(cp)
    assert cp.auth_required is False


def test_qr_sticker_for_board_and_staff_only(client, login, session):
    site, user, cp = resident_with_access(session)
    board = make_user(session, site=site, role="board")
    support = make_user(session, staff_role="support")
    session.commit()
    login(client, user)
    assert client.get(f"/c/{cp.identity}/qr.svg").status_code == 403
    login(client, board)
    svg = client.get(f"/c/{cp.identity}/qr.svg")
    assert svg.status_code == 200 and svg.headers["Content-Type"].startswith("image/svg+xml")
    assert b"<svg" in svg.data
    login(client, support)
    png = client.get(f"/c/{cp.identity}/qr.png")
    assert png.status_code == 200 and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get(f"/c/{cp.identity}/qr.gif").status_code == 404


def test_qr_code_encodes_the_start_screen_address(client, login, session):
    import io

    site, user, cp = resident_with_access(session)
    board = make_user(session, site=site, role="board")
    session.commit()
    login(client, board)
    png = client.get(f"/c/{cp.identity}/qr.png").data
    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))  # an independent QR reader, not segno
    assert [(code.format.name, code.text) for code in found] == [("QRCode", f"http://portal.test/c/{cp.identity}")]
