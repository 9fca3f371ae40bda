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


# --- issue 23: a stranger cannot block an owner's reset; reset mails per account are capped ----------

def _from(client, address: str):
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _reset_mails(session, email: str) -> int:
    from sqlalchemy import func, select

    from portal.models import OutboxEmail

    session.expire_all()
    return session.scalar(select(func.count()).select_from(OutboxEmail).where(
        OutboxEmail.to_address == email, OutboxEmail.kind == "password_reset"))


def test_a_stranger_hitting_the_reset_limit_does_not_block_the_owner(limited_client, session, app_config):
    from portal import create_app

    make_user(session, "ann@example.test")
    session.commit()
    stranger = _from(limited_client, "198.51.100.66")
    codes = [stranger.post("/reset", data={"email": "ann@example.test"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    owner = _from(browser_like_client(create_app({**app_config, "RATELIMIT_ENABLED": True})), "203.0.113.10")
    answer = owner.post("/reset", data={"email": "ann@example.test"})
    assert answer.status_code == 200
    assert _reset_mails(session, "ann@example.test") == 4  # the owner's own request sent a link too


def test_reset_mails_per_account_are_capped_but_the_answer_stays_the_same(limited_client, session):
    make_user(session, "ann@example.test")
    session.commit()
    pages = []
    for i in range(8):  # a stranger rotating addresses: each one under its own limits
        pages.append(_from(limited_client, f"198.51.100.{i + 1}").post("/reset", data={"email": "ann@example.test"}))
    assert {p.status_code for p in pages} == {200}
    assert len({p.get_data(as_text=True).count("Check your e-mail") for p in pages}) == 1
    assert _reset_mails(session, "ann@example.test") == 5  # RESET_MAILS_PER_ACCOUNT; the owner holds 5 links


# --- issue 23: the confirmation link is not an unlimited log-in form ---------------------------------

def _unconfirmed(session):
    from flask import current_app

    from portal.services.people.accounts import make_verify_token

    user = make_user(session, "new@example.test")
    user.email_verified_at = None
    session.commit()
    return user, make_verify_token(user, current_app.secret_key)


def test_password_guesses_on_one_confirmation_link_are_limited(limited_client, session):
    with limited_client.application.app_context():
        user, token = _unconfirmed(session)
    guesses = [_from(limited_client, f"198.51.100.{i + 1}").post(f"/verify/{token}", data={"password": f"guess-{i}"})
               for i in range(6)]  # every guess from another address: the link's own limit stops them
    assert [g.status_code for g in guesses] == [422] * 5 + [429]


def test_password_guesses_on_confirmation_links_from_one_address_are_limited(limited_client, session):
    with limited_client.application.app_context():
        from flask import current_app

        from portal.services.people.accounts import make_verify_token

        users = [make_user(session, f"new{i}@example.test") for i in range(11)]
        for u in users:
            u.email_verified_at = None
        session.commit()
        tokens = [make_verify_token(u, current_app.secret_key) for u in users]
    codes = [limited_client.post(f"/verify/{t}", data={"password": "guess"}).status_code for t in tokens]
    assert codes == [422] * 10 + [429]


def test_a_confirmation_link_lives_a_day_not_three(client, session, monkeypatch):
    import itsdangerous.timed

    from portal.services.people.accounts import VERIFY_MAX_AGE_S

    assert VERIFY_MAX_AGE_S <= 24 * 3600
    with client.application.app_context():
        real_time = itsdangerous.timed.time.time
        monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real_time() - 25 * 3600)
        user, token = _unconfirmed(session)
        monkeypatch.setattr(itsdangerous.timed.time, "time", real_time)
    assert client.get(f"/verify/{token}").status_code == 400
