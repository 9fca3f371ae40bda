"""Rate limits that cannot be turned into a lock-out, invite limits per site, and limits without Redis."""
from __future__ import annotations

import pytest
from redis import Redis
from sqlalchemy import func, select

from portal.models import Invite
from tests.conftest import browser_like_client
from tests.factories import PASSWORD, make_site, make_user


def _limited_app(app_config, **overrides):
    from portal import create_app

    return create_app({**app_config, "RATELIMIT_ENABLED": True, **overrides})


@pytest.fixture
def limited_app(app_config, db, redis_url):
    app = _limited_app(app_config, RATELIMIT_INVITES="5 per hour", RATELIMIT_INVITE_RESENDS="2 per hour")
    yield app
    for key in Redis.from_url(redis_url).scan_iter("*portal-rl*"):
        Redis.from_url(redis_url).delete(key)
    app.extensions["portal_db"].dispose()


def _from(client, address: str):
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_failures_from_one_address_do_not_lock_the_owner_out(limited_app, session):
    user = make_user(session, "ann@example.test")
    session.commit()
    attacker = _from(browser_like_client(limited_app), "198.51.100.66")
    codes = [attacker.post("/login", data={"email": user.email, "password": "wrong"}).status_code for _ in range(11)]
    assert codes[-1] == 429
    owner = _from(browser_like_client(limited_app), "203.0.113.10")
    assert owner.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 303


def test_invites_per_site_per_hour_count_addresses(limited_app, session, login):
    site = make_site(session, "eik")
    board = make_user(session, site=site, role="board")
    other_site = make_site(session, "ask")
    other_board = make_user(session, site=other_site, role="board")
    session.commit()
    client = browser_like_client(limited_app)
    login(client, board)
    first = client.post("/manage/eik/invites", data={"emails": "a@x.test\nb@x.test\nc@x.test"})
    assert first.status_code == 200
    second = client.post("/manage/eik/invites", data={"emails": "d@x.test\ne@x.test\nf@x.test"})
    assert second.status_code == 429 and b"Too many attempts" in second.data
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Invite)) == 3
    other = browser_like_client(limited_app)
    login(other, other_board)  # another site's budget is its own
    assert other.post("/manage/ask/invites", data={"emails": "g@x.test"}).status_code == 200


def test_a_stranger_cannot_spend_a_sites_invite_budget(limited_app, session, login):
    site = make_site(session, "eik")
    board = make_user(session, site=site, role="board")
    stranger = make_user(session)
    session.commit()
    client = browser_like_client(limited_app)
    login(client, stranger)
    for _ in range(3):
        assert client.post("/manage/eik/invites", data={"emails": "a@x.test\nb@x.test"}).status_code == 403
    login(client, board)
    assert client.post("/manage/eik/invites", data={"emails": "a@x.test\nb@x.test"}).status_code == 200


def test_invite_resends_per_site_are_limited(limited_app, session, login):
    site = make_site(session, "eik")
    board = make_user(session, site=site, role="board")
    session.commit()
    client = browser_like_client(limited_app)
    login(client, board)
    client.post("/manage/eik/invites", data={"emails": "a@x.test"})
    invite_id = session.scalar(select(Invite.id))
    codes = [client.post(f"/manage/eik/invites/{invite_id}/resend").status_code for _ in range(3)]
    assert codes == [303, 303, 429]


@pytest.fixture
def redis_away_app(app_config, db):
    app = _limited_app(app_config, REDIS_URL="redis://127.0.0.1:1/0", RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0")
    yield app
    app.extensions["portal_db"].dispose()


def test_log_in_stays_limited_in_process_when_redis_is_away(redis_away_app, session):
    make_user(session, "ann@example.test")
    session.commit()
    client = browser_like_client(redis_away_app)
    codes = [client.post("/login", data={"email": "ann@example.test", "password": "wrong"}).status_code
             for _ in range(11)]
    assert codes == [422] * 10 + [429]


def test_limits_counted_inside_a_view_stay_counted_in_process_when_redis_is_away(redis_away_app):
    """Issue 23: `hit` (invites, resends, reset e-mails per account) let everything through without Redis."""
    from portal.auth.limits import hit

    with redis_away_app.test_request_context("/"):
        assert [hit("2 per hour", "issue23", "a") for _ in range(3)] == [True, True, False]
        assert hit("2 per hour", "issue23", "b")  # another key has its own budget


def test_invite_resends_stay_limited_when_redis_is_away(app_config, db, session, login):
    app = _limited_app(app_config, REDIS_URL="redis://127.0.0.1:1/0", RATELIMIT_STORAGE_URI="redis://127.0.0.1:1/0",
                       RATELIMIT_INVITE_RESENDS="2 per hour")
    try:
        site = make_site(session, "eik")
        board = make_user(session, site=site, role="board")
        session.commit()
        client = browser_like_client(app)
        login(client, board)
        client.post("/manage/eik/invites", data={"emails": "a@x.test"})
        invite_id = session.scalar(select(Invite.id))
        codes = [client.post(f"/manage/eik/invites/{invite_id}/resend").status_code for _ in range(3)]
        assert codes == [303, 303, 429]
    finally:
        app.extensions["portal_db"].dispose()
