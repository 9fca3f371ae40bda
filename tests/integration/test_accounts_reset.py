"""Password reset: same answer for known and unknown addresses, a link that works once and expires."""
from __future__ import annotations

import re

from sqlalchemy import select

from portal.models import OutboxEmail, User
from portal.services.people.accounts import make_reset_token, user_for_reset_token
from portal.services.people.secrets import verify_secret
from tests.conftest import TEST_SECRET_KEY
from tests.factories import PASSWORD, make_user


def _link(session) -> str:
    mail = session.scalar(select(OutboxEmail).order_by(OutboxEmail.id.desc()))
    return re.search(r"http://portal\.test(/reset/\S+)", mail.body_text).group(1)


def _without_csrf_tokens(page: bytes) -> bytes:
    """The page with every CSRF token blanked: a token carries the second it was made, so two requests
    that straddle a second differ there and nowhere that matters."""
    page = re.sub(rb'("X-CSRFToken": ")[^"]*(")', rb"\1\2", page)
    return re.sub(rb'(name="csrf_token" value=")[^"]*(")', rb"\1\2", page)


def test_csrf_tokens_are_blanked_wherever_the_page_carries_them():
    page = b'<body hx-headers=\'{"X-CSRFToken": "abc.1.x"}\'><input type="hidden" name="csrf_token" value="abc.1.x">'
    other = page.replace(b"abc.1.x", b"abc.2.y")
    assert page != other and _without_csrf_tokens(page) == _without_csrf_tokens(other)


def test_reset_request_answers_the_same_for_known_and_unknown_addresses(client, session):
    make_user(session, "ann@example.test")
    session.commit()
    known = client.post("/reset", data={"email": "ANN@example.test"})
    unknown = client.post("/reset", data={"email": "nobody@example.test"})
    assert known.status_code == unknown.status_code == 200
    assert _without_csrf_tokens(known.data) == _without_csrf_tokens(unknown.data)
    assert b'data-testid="reset-sent"' in known.data
    mails = {m.to_address: m for m in session.scalars(select(OutboxEmail))}  # one e-mail each: the same work
    assert mails["ann@example.test"].kind == "password_reset"
    assert mails["nobody@example.test"].kind == "reset_unknown" and "/reset/" not in mails["nobody@example.test"].body_text


def test_reset_link_sets_a_new_password_once(client, session):
    user = make_user(session, "ann@example.test")
    session.commit()
    client.post("/reset", data={"email": "ann@example.test"})
    link = _link(session)
    mail = session.scalar(select(OutboxEmail))
    assert (mail.kind, mail.to_address, mail.language) == ("password_reset", "ann@example.test", "en")
    assert mail.body_html and link in mail.body_html

    page = client.get(link)
    assert page.status_code == 200 and b'data-testid="reset-password-form"' in page.data
    response = client.post(link, data={"password": "brand-new-secret", "confirm": "brand-new-secret"})
    assert response.status_code == 303
    session.expire_all()
    assert verify_secret(session.get(User, user.id).password_hash, "brand-new-secret")

    again = client.get(link)
    assert again.status_code == 400 and b'data-testid="reset-invalid"' in again.data
    assert client.post(link, data={"password": "another-secret-1", "confirm": "another-secret-1"}).status_code == 400


def test_reset_form_validation(client, session):
    make_user(session, "ann@example.test")
    session.commit()
    client.post("/reset", data={"email": "ann@example.test"})
    link = _link(session)
    response = client.post(link, data={"password": "abc", "confirm": "abc"})
    assert response.status_code == 422
    assert b"between 12 and 128 characters" in response.data


def test_expired_forged_and_garbage_tokens_are_refused(client, session):
    user = make_user(session, "ann@example.test")
    session.commit()
    token, _ = make_reset_token(user, TEST_SECRET_KEY)
    assert user_for_reset_token(session, token, TEST_SECRET_KEY).id == user.id
    assert user_for_reset_token(session, token, TEST_SECRET_KEY, max_age=-1) is None  # expired
    assert user_for_reset_token(session, token, "another-secret") is None  # forged
    for bad in ("garbage", "x" * 1000, token[:-3] + "abc"):
        assert client.get(f"/reset/{bad}").status_code == 400


def test_inactive_user_gets_no_reset_link(client, session):
    user = make_user(session, "ann@example.test")
    user.active = False
    session.commit()
    assert client.post("/reset", data={"email": "ann@example.test"}).status_code == 200
    mail = session.scalar(select(OutboxEmail))
    assert mail.kind == "reset_unknown" and "/reset/" not in mail.body_text


def test_old_password_stops_working_after_reset(client, session):
    make_user(session, "ann@example.test")
    session.commit()
    client.post("/reset", data={"email": "ann@example.test"})
    client.post(_link(session), data={"password": "brand-new-secret", "confirm": "brand-new-secret"})
    client.post("/logout")
    assert client.post("/login", data={"email": "ann@example.test", "password": PASSWORD}).status_code == 422
    assert client.post("/login", data={"email": "ann@example.test", "password": "brand-new-secret"}).status_code == 303
