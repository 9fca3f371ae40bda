"""Registration: an unconfirmed account and a confirmation e-mail; the link (with the password) confirms,
logs in and follows a safe `next`. The answer is the same whether or not the address has an account."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from portal.models import IdTag, OutboxEmail, User
from tests.factories import make_user

GOOD = {"name": "Kari Nordmann", "email": "Kari@Example.test", "password": "long-enough-pw",
        "confirm": "long-enough-pw", "language": "sv"}


def verify_link(session, to: str = "kari@example.test") -> str:
    session.expire_all()
    mail = session.scalars(select(OutboxEmail).where(OutboxEmail.to_address == to)
                           .order_by(OutboxEmail.id.desc())).first()
    assert mail.kind == "verify_email", mail.kind
    return re.search(r"http://portal\.test(/verify/\S+)", mail.body_text).group(1)


def test_register_page_offers_the_form(client):
    response = client.get("/register?next=/favorites")
    assert response.status_code == 200
    assert b'data-testid="register-form"' in response.data
    assert b'value="/favorites"' in response.data


def test_register_creates_an_unconfirmed_account_and_sends_the_link(client, session):
    response = client.post("/register", data={**GOOD, "next": "/favorites"})
    assert response.status_code == 200 and b'data-testid="register-sent"' in response.data
    user = session.scalar(select(User).where(User.email == "kari@example.test"))
    assert user is not None and user.name == "Kari Nordmann" and user.language == "sv"
    assert user.email_verified_at is None and user.password_hash.startswith("$argon2id$")
    assert session.scalar(select(IdTag).where(IdTag.user_id == user.id, IdTag.kind == "virtual"))
    mail = session.scalar(select(OutboxEmail))
    assert (mail.to_address, mail.kind, mail.language, mail.status) == ("kari@example.test", "verify_email", "sv", "queued")
    assert client.get("/account").status_code == 302  # not logged in before the address is confirmed


def test_the_link_with_the_password_confirms_logs_in_and_follows_next(client, session):
    client.post("/register", data={**GOOD, "next": "/favorites"})
    link = verify_link(session)
    assert client.get(link).status_code == 200
    wrong = client.post(link, data={"password": "not-what-i-chose"})
    assert wrong.status_code == 422 and b"not the password you chose" in wrong.data
    response = client.post(link, data={"password": GOOD["password"]})
    assert response.status_code == 303 and response.headers["Location"].endswith("/favorites")
    assert "lang=sv" in response.headers["Set-Cookie"]
    session.expire_all()
    assert session.scalar(select(User)).email_verified_at is not None
    assert client.get("/account").status_code == 200


def test_the_link_as_htmx_answers_with_hx_redirect(client, session):
    client.post("/register", data={**GOOD, "next": "/favorites"})
    response = client.post(verify_link(session), data={"password": GOOD["password"]}, headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/favorites"


def test_an_unsafe_next_is_not_followed_after_confirming(client, session):
    client.post("/register", data={**GOOD, "next": "//evil.example/x"})
    response = client.post(verify_link(session), data={"password": GOOD["password"]})
    assert response.status_code == 303 and "evil" not in response.headers["Location"]


def test_an_unconfirmed_account_cannot_log_in_and_gets_a_new_link(client, session):
    client.post("/register", data=GOOD)
    response = client.post("/login", data={"email": GOOD["email"], "password": GOOD["password"]})
    assert response.status_code == 422 and b"Confirm your e-mail address first" in response.data
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(OutboxEmail)) == 2


def test_register_with_a_taken_email_answers_the_same_and_tells_only_the_inbox(client, session):
    make_user(session, "kari@example.test")
    session.commit()
    response = client.post("/register", data=GOOD)
    assert response.status_code == 200 and b'data-testid="register-sent"' in response.data
    assert b"exists" not in response.data
    mail = session.scalar(select(OutboxEmail))
    assert (mail.kind, mail.to_address) == ("account_exists", "kari@example.test")
    assert session.scalar(select(func.count()).select_from(User)) == 1


def test_register_password_rules(client, session):
    short = client.post("/register", data={**GOOD, "password": "short", "confirm": "short"})
    assert short.status_code == 422 and b"between 12 and 128 characters" in short.data
    mismatch = client.post("/register", data={**GOOD, "confirm": "something-else"})
    assert mismatch.status_code == 422 and b"not the same" in mismatch.data
    assert session.scalar(select(User)) is None


def test_invalid_form_as_htmx_fragment_is_422_without_the_page(client):
    response = client.post("/register", data={**GOOD, "email": "nope"}, headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert b"<html" not in response.data and b'data-testid="register-form"' in response.data
    assert "HX-Request" in response.headers["Vary"]
