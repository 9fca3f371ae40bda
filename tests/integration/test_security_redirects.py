"""Open redirects: a `next` value never sends anyone off the site (Location or HX-Redirect)."""
from __future__ import annotations

import pytest

from portal.security.redirects import safe_next
from tests.factories import PASSWORD, make_user

# Each of these is read by some browser as another host, or runs script.
BAD_NEXT = [
    "/\\evil.example", "/%5Cevil.example", "\\\\evil.example", "//evil.example", "/\t/evil.example",
    "/%2Fevil.example", "/%2F%2Fevil.example", "/%252F/evil.example", "https://evil.example/",
    "http:evil.example", "javascript:alert(1)", "JavaScript:alert(1)", " //evil.example", "/\r\n/evil.example",
    "evil.example", "/%09/evil.example", "/\x00/evil.example",
]
GOOD_NEXT = ["/favorites", "/c/CP-1?x=1", "/history#top", "/manage/solbakken/members"]


def _decoded(value: str) -> str:
    """What the `next` in a query string looks like after Werkzeug decoded it once."""
    from urllib.parse import unquote

    return unquote(value)


@pytest.mark.parametrize("target", BAD_NEXT)
def test_safe_next_refuses_anything_a_browser_could_read_as_another_site(target):
    assert safe_next(target, "/home") == "/home"
    assert safe_next(_decoded(target), "/home") == "/home"


@pytest.mark.parametrize("target", GOOD_NEXT)
def test_safe_next_keeps_same_site_paths(target):
    assert safe_next(target, "/home") == target


def _targets(response) -> list[str]:
    return [v for v in (response.headers.get("Location"), response.headers.get("HX-Redirect")) if v]


def _assert_stays_home(response) -> None:
    targets = _targets(response)
    assert targets, response.status_code
    for target in targets:
        assert safe_next(target, "OFF-SITE") == target, target
        assert "evil" not in target.lower() and "javascript" not in target.lower(), target


@pytest.mark.parametrize("target", BAD_NEXT)
@pytest.mark.parametrize("htmx", [False, True])
def test_log_in_never_follows_a_foreign_next(app, client, session, target, htmx):
    user = make_user(session)
    session.commit()
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "next": target},
                           headers=headers)
    _assert_stays_home(response)
    _assert_stays_home(client.get("/login", query_string={"next": target}))  # already logged in


@pytest.mark.parametrize("target", BAD_NEXT)
def test_registration_and_language_switch_never_follow_a_foreign_next(client, session, target):
    from tests.integration.test_accounts_register import verify_link

    form = {"name": "Kari", "email": "kari@example.test", "password": "a-long-enough-passphrase",
            "confirm": "a-long-enough-passphrase", "language": "en", "next": target}
    assert client.post("/register", data=form).status_code == 200
    link = verify_link(session)
    _assert_stays_home(client.post(link, data={"password": form["password"]}, headers={"HX-Request": "true"}))
    _assert_stays_home(client.get("/register", query_string={"next": target}))
    _assert_stays_home(client.post("/lang", data={"lang": "en", "next": target}))
