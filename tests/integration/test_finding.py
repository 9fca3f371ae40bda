"""Finding a charger: search among the chargers one may use, a site's page, and the printable sticker label."""
from __future__ import annotations

import re

import pytest

from tests.factories import make_charge_point, make_site, make_user

HX = {"HX-Request": "true"}


@pytest.fixture
def places(session):
    home = make_site(session, "lia", name="Lia borettslag")
    away = make_site(session, "fjord", name="Fjordgløtt sameie")
    me = make_user(session, "me@lia.test", site=home)
    neighbour = make_user(session, "nabo@lia.test", site=home)
    cps = {
        "garage": make_charge_point(session, home, "CP-LIA-1", name="Garasje B, plass 12"),
        "mine": make_charge_point(session, home, "CP-LIA-HOME", name="Min lader", cp_type="personal",
                                  owner_id=me.id),
        "theirs": make_charge_point(session, home, "CP-LIA-NABO", name="Nabos lader", cp_type="personal",
                                    owner_id=neighbour.id),
        "public": make_charge_point(session, away, "CP-FJORD-PUB", name="Gjesteplass", cp_type="public"),
        "private": make_charge_point(session, away, "CP-FJORD-1", name="Garasje B, plass 3"),
    }
    session.commit()
    return home, away, me, cps


def _found(client, q: str) -> list[str]:
    body = client.get("/chargers/search", query_string={"q": q}, headers=HX).get_data(as_text=True)
    assert "<html" not in body
    return re.findall(r'data-testid="search-result" data-identity="([^"]+)"', body)


def test_search_finds_only_chargers_one_may_use(client, login, places):
    home, away, me, cps = places
    login(client, me)
    assert _found(client, "garasje b") == ["CP-LIA-1"]  # the other site's private charger stays hidden
    assert _found(client, "cp-lia") == ["CP-LIA-1", "CP-LIA-HOME"]  # never the neighbour's personal charger
    assert _found(client, "fjordgløtt") == ["CP-FJORD-PUB"]  # by site name: its public charger
    assert _found(client, "lader") == ["CP-LIA-HOME"]
    assert _found(client, "g") == [] and _found(client, "%%") == [] and _found(client, "__") == []
    page = client.get("/chargers/search?q=plass").get_data(as_text=True)
    assert "<html" in page and 'data-identity="CP-LIA-1"' in page
    assert 'data-testid="charger-search"' in client.get("/chargers").get_data(as_text=True)


def test_site_page_lists_what_one_may_use_and_public_chargers_for_all(client, login, places, session):
    home, away, me, cps = places
    login(client, me)
    own = client.get("/sites/lia").get_data(as_text=True)
    assert set(re.findall(r'data-testid="charge-point" data-identity="([^"]+)"', own)) == {"CP-LIA-1", "CP-LIA-HOME"}
    other = client.get("/sites/fjord").get_data(as_text=True)
    assert re.findall(r'data-testid="charge-point" data-identity="([^"]+)"', other) == ["CP-FJORD-PUB"]
    closed = make_site(session, "lukket", name="Lukket borettslag")
    make_charge_point(session, closed, "CP-LUKKET-1")
    session.commit()
    assert client.get("/sites/lukket").status_code == 404
    assert client.get("/sites/nowhere").status_code == 404


def test_sticker_label_for_the_board(client, login, places, session):
    home, away, me, cps = places
    board = make_user(session, "styret@lia.test", site=home, role="board")
    session.commit()
    login(client, me)
    assert client.get("/c/CP-LIA-1/sticker").status_code == 403
    login(client, board)
    page = client.get("/c/CP-LIA-1/sticker").get_data(as_text=True)
    label = page[page.index('data-testid="sticker-label"'):]
    for text in ("Garasje B, plass 12", "CP-LIA-1", "Lia borettslag", "portal.test/c/CP-LIA-1", "+47 21 00 00 00",
                 "<svg"):
        assert text in label, text
    assert "style=" not in label  # the CSP forbids inline styles: the label is styled from app.css
