"""Server-side sessions: log-out ends them, remember-me is a choice, idle and absolute limits, the account
page lists and ends them, and log-in starts a new session id and CSRF token."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from portal.db import utcnow
from portal.models import LoginSession
from tests.conftest import browser_like_client
from tests.factories import PASSWORD, make_user

PHONE_UA = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"


def _log_in(client, user, remember: bool = False, ua: str = PHONE_UA):
    data = {"email": user.email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data, headers={"User-Agent": ua})
    assert response.status_code == 303, response.status_code
    return response


def _logged_in(client) -> bool:
    return client.get("/account").status_code == 200


def _copy_cookies(source, target) -> None:
    for cookie in source._cookies.values():
        target.set_cookie(cookie.key, cookie.value)


def _count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(LoginSession))


def test_log_out_ends_the_session_on_the_server_so_a_copied_cookie_stops_working(app, client, session):
    user = make_user(session)
    session.commit()
    _log_in(client, user, remember=True)
    thief = app.test_client()
    _copy_cookies(client, thief)
    assert _logged_in(thief)
    assert client.post("/logout").status_code == 303
    assert not _logged_in(client)
    assert not _logged_in(thief)  # neither the session cookie nor the remember cookie works any more
    assert _count(session) == 0


def test_remember_me_is_a_choice(app, session):
    user = make_user(session)
    session.commit()
    plain = browser_like_client(app)
    response = _log_in(plain, user)
    assert "remember_token" not in " ".join(response.headers.getlist("Set-Cookie"))
    remembered = browser_like_client(app)
    response = _log_in(remembered, user, remember=True)
    assert "remember_token=" in " ".join(response.headers.getlist("Set-Cookie"))
    assert b'name="remember"' in browser_like_client(app).get("/login").data


def _age(session, *, idle: timedelta = timedelta(0), age: timedelta = timedelta(0)) -> None:
    for row in session.scalars(select(LoginSession)):
        row.last_seen_at = utcnow() - idle
        row.created_at = utcnow() - max(age, idle)
    session.commit()


def test_an_idle_session_ends(client, session):
    user = make_user(session)
    session.commit()
    _log_in(client, user)
    _age(session, idle=timedelta(hours=2, minutes=1))
    assert not _logged_in(client)
    assert _count(session) == 0


def test_a_busy_session_still_ends_at_its_absolute_lifetime(client, session):
    user = make_user(session)
    session.commit()
    _log_in(client, user)
    _age(session, idle=timedelta(minutes=5), age=timedelta(hours=12, minutes=1))
    assert not _logged_in(client)


def test_a_remembered_session_outlives_the_short_limits_but_not_its_own(client, session):
    user = make_user(session)
    session.commit()
    _log_in(client, user, remember=True)
    _age(session, idle=timedelta(days=2), age=timedelta(days=20))
    assert _logged_in(client)
    _age(session, idle=timedelta(days=1), age=timedelta(days=91))
    assert not _logged_in(client)


def test_log_in_starts_a_new_session_id_and_csrf_token(app, session):
    user = make_user(session)
    session.commit()
    client = app.test_client()  # a plain client: it sends only the token the page gave it
    token = _page_token(client, "/login")
    with client.session_transaction() as s:
        before_csrf = s["csrf_token"]
        s["planted"] = "by an attacker before log-in"
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303
    with client.session_transaction() as s:
        assert "planted" not in s and s.get("csrf_token") != before_csrf
        first_id = s["_user_id"]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 400  # the old token is dead
    assert client.post("/logout", data={"csrf_token": _page_token(client, "/account")}).status_code == 303
    response = client.post("/login", data={"email": user.email, "password": PASSWORD,
                                           "csrf_token": _page_token(client, "/login")})
    assert response.status_code == 303
    with client.session_transaction() as s:
        assert s["_user_id"] != first_id


def _page_token(client, url: str) -> str:
    import re

    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_the_account_page_lists_sessions_and_ends_one_or_all_others(app, session):
    user = make_user(session)
    session.commit()
    phone, laptop, tablet = (browser_like_client(app) for _ in range(3))
    _log_in(phone, user)
    _log_in(laptop, user, ua="Mozilla/5.0 (Windows NT 10.0; Win64; x64) Gecko/20100101 Firefox/121.0")
    _log_in(tablet, user, ua="Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) Version/17.0 Safari/605.1.15")
    page = phone.get("/account").get_data(as_text=True)
    assert page.count('data-testid="login-session"') == 3
    assert "Chrome · Android" in page and "Firefox · Windows" in page and "Safari · iPad" in page
    assert page.count('data-testid="this-device"') == 1
    laptop_id = session.scalar(select(LoginSession.id).where(LoginSession.user_agent.contains("Firefox")))
    response = phone.post(f"/account/sessions/{laptop_id}/end", headers={"HX-Request": "true"})
    assert response.status_code == 200 and b'data-testid="sessions-ended"' in response.data
    assert not _logged_in(laptop) and _logged_in(tablet) and _logged_in(phone)
    response = phone.post("/account/sessions/end-others")
    assert response.status_code == 200 and response.get_data(as_text=True).count('data-testid="login-session"') == 1
    assert not _logged_in(tablet) and _logged_in(phone)


def test_nobody_ends_someone_elses_session(app, client, session):
    me, other = make_user(session), make_user(session)
    session.commit()
    _log_in(client, me)
    theirs = browser_like_client(app)
    _log_in(theirs, other)
    their_id = session.scalar(select(LoginSession.id).where(LoginSession.user_id == other.id))
    assert client.post(f"/account/sessions/{their_id}/end").status_code == 404
    assert _logged_in(theirs)


def test_ending_this_device_from_the_list_logs_out_here(client, session):
    user = make_user(session)
    session.commit()
    _log_in(client, user)
    own_id = session.scalar(select(LoginSession.id))
    response = client.post(f"/account/sessions/{own_id}/end", headers={"HX-Request": "true"})
    assert response.headers["HX-Redirect"] == "/login"
    assert not _logged_in(client)


def test_a_deactivated_account_is_logged_out_at_once(client, session):
    user = make_user(session)
    session.commit()
    _log_in(client, user, remember=True)
    user.active = False
    session.commit()
    assert not _logged_in(client)


def test_use_moves_the_idle_limit_on_without_a_write_per_request(client, session):
    """last_seen_at is written at most once a minute (TOUCH_EVERY): a session in use does not go idle."""
    user = make_user(session)
    session.commit()
    _log_in(client, user)
    _age(session, idle=timedelta(hours=1, minutes=59))
    assert _logged_in(client)  # used just before the idle limit: moved on
    session.expire_all()
    touched = session.scalar(select(LoginSession.last_seen_at))
    assert utcnow() - touched < timedelta(minutes=1)
    for row in session.scalars(select(LoginSession)):
        row.last_seen_at = touched - timedelta(seconds=30)  # used half a minute ago
    session.commit()
    assert _logged_in(client) and _logged_in(client)
    session.expire_all()
    assert session.scalar(select(LoginSession.last_seen_at)) == touched - timedelta(seconds=30)  # not written
