"""Rate limits on log-in, registration and reset (the only tests that turn the limiter on)."""
from __future__ import annotations

import pytest
from redis import Redis

from tests.conftest import browser_like_client
from tests.factories import PASSWORD, make_user


@pytest.fixture
def limited_client(app_config, db, redis_url):
    from portal import create_app

    app = create_app({**app_config, "RATELIMIT_ENABLED": True})
    client = browser_like_client(app)
    yield client
    r = Redis.from_url(redis_url)
    for key in r.scan_iter("*portal-rl*"):
        r.delete(key)
    app.extensions["portal_db"].dispose()


def test_login_attempts_are_limited(limited_client, session):
    make_user(session, "ann@example.test")
    session.commit()
    codes = [limited_client.post("/login", data={"email": "ann@example.test", "password": "wrong"}).status_code
             for _ in range(11)]
    assert codes[:10] == [422] * 10
    assert codes[10] == 429
    blocked = limited_client.post("/login", data={"email": "ann@example.test", "password": "wrong"})
    assert b"Too many attempts" in blocked.data
    assert limited_client.get("/login").status_code == 200  # reading the page is not limited


def test_login_attempts_from_one_address_are_limited(limited_client):
    codes = [limited_client.post("/login", data={"email": f"u{i}@example.test", "password": "x"}).status_code
             for i in range(31)]
    assert codes == [422] * 30 + [429]


def test_password_change_attempts_are_limited(limited_client, session, login):
    user = make_user(session, "ann@example.test")
    session.commit()
    login(limited_client, user)
    data = {"password-current_password": "wrong", "password-new_password": "another-long-one",
            "password-confirm": "another-long-one"}
    codes = [limited_client.post("/account/password", data=data).status_code for _ in range(11)]
    assert codes == [422] * 10 + [429]


def test_reset_mails_to_one_address_are_limited(limited_client):
    codes = [limited_client.post("/reset", data={"email": "ann@example.test"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert limited_client.post("/reset", data={"email": "bob@example.test"}).status_code == 200


def test_registration_is_limited(limited_client):
    codes = [limited_client.post("/register", data={"email": "bad"}).status_code for _ in range(6)]
    assert codes == [422] * 5 + [429]


def test_log_in_still_works_when_redis_is_down(app_config, db, session):
    from portal import create_app

    make_user(session, "ann@example.test")
    session.commit()
    app = create_app({**app_config, "RATELIMIT_ENABLED": True, "REDIS_URL": "redis://127.0.0.1:1/0"})
    client = browser_like_client(app)
    try:
        wrong = client.post("/login", data={"email": "ann@example.test", "password": "wrong"})
        assert wrong.status_code == 422  # refused as usual, not a 500 from the limiter
        response = client.post("/login", data={"email": "ann@example.test", "password": PASSWORD})
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        account = client.get("/account")  # the session it started is a working log-in
        assert account.status_code == 200 and "ann@example.test" in account.get_data(as_text=True)
    finally:
        app.extensions["portal_db"].dispose()
