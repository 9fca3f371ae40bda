"""Security headers, cookie flags and the client's address behind trusted proxies."""
from __future__ import annotations

from flask import request

from tests.conftest import browser_like_client
from tests.factories import PASSWORD, make_user, resident_with_access


def _app(app_config, **overrides):
    from portal import create_app

    return create_app({**app_config, **overrides})


def test_every_page_sends_the_content_security_policy_and_friends(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    for part in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'",
                 "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'"):
        assert part in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers  # plain http: HSTS means nothing


def test_htmx_is_told_not_to_eval_or_inject_styles(client):
    page = client.get("/login").get_data(as_text=True)
    assert '"allowEval":false' in page and '"includeIndicatorStyles":false' in page
    assert "<script>" not in page and " style=" not in page


def test_hsts_on_https(client):
    response = client.get("/login", base_url="https://portal.test")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_receipts_and_reports_are_never_cached(client, login, session):
    site, user, cp = resident_with_access(session)
    board = make_user(session, site=site, role="board")
    session.commit()
    login(client, user)
    assert client.get("/history").headers["Cache-Control"] == "no-store"
    login(client, board)
    assert client.get(f"/manage/{site.slug}/reports").headers["Cache-Control"] == "no-store"


def _set_cookies(response) -> dict[str, str]:
    cookies = {}
    for header in response.headers.getlist("Set-Cookie"):
        name = header.split("=", 1)[0]
        cookies[name] = header
    return cookies


def _log_in(client, user, remember: bool = True):
    data = {"email": user.email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data)


def test_cookies_are_secure_httponly_and_lax_behind_https(app_config, db, session):
    user = make_user(session)
    session.commit()
    app = _app(app_config, PORTAL_BASE_URL="https://lading.example.no")
    client = browser_like_client(app)
    cookies = _set_cookies(_log_in(client, user))
    assert {"session", "remember_token"} <= set(cookies), cookies
    for name in ("session", "remember_token"):
        flags = cookies[name].lower()
        assert "; secure" in flags and "; httponly" in flags and "samesite=lax" in flags, cookies[name]


def test_cookies_are_not_marked_secure_on_a_plain_http_developer_machine(app_config, db, session):
    user = make_user(session)
    session.commit()
    app = _app(app_config, PORTAL_BASE_URL="http://127.0.0.1:5000")
    cookies = _set_cookies(_log_in(browser_like_client(app), user))
    assert "; secure" not in cookies["session"].lower() and "; httponly" in cookies["session"].lower()
    forced = _app(app_config, PORTAL_BASE_URL="http://127.0.0.1:5000", COOKIE_SECURE="1")
    assert "; secure" in _set_cookies(_log_in(browser_like_client(forced), user))["session"].lower()


def _addr_app(app_config, proxies: str):
    app = _app(app_config, TRUSTED_PROXIES=proxies)
    app.add_url_rule("/_who", "who", lambda: f"{request.remote_addr} {request.scheme}")
    return app


def test_forwarded_headers_are_believed_only_from_the_configured_proxies(app_config, db):
    forwarded = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9", "X-Forwarded-Proto": "https"}
    direct = _addr_app(app_config, "0").test_client().get("/_who", headers=forwarded)
    assert direct.get_data(as_text=True) == "127.0.0.1 http"
    one = _addr_app(app_config, "1").test_client().get("/_who", headers=forwarded)
    assert one.get_data(as_text=True) == "203.0.113.9 https"  # the address our proxy saw, not the claim
    forwarded["X-Forwarded-Proto"] = "https, https"
    two = _addr_app(app_config, "2").test_client().get("/_who", headers=forwarded)
    assert two.get_data(as_text=True) == "198.51.100.7 https"
