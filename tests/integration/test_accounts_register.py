"""Registration: a new account, logged in, welcome e-mail queued, safe `next` followed."""
from __future__ import annotations

from sqlalchemy import select

from portal.models import IdTag, OutboxEmail, User
from tests.factories import make_user

GOOD = {"name": "Kari Nordmann", "email": "Kari@Example.test", "password": "long-enough-pw",
        "confirm": "long-enough-pw", "language": "sv"}


def test_register_page_offers_the_form(client):
    response = client.get("/register?next=/favorites")
    assert response.status_code == 200
    assert b'data-testid="register-form"' in response.data
    assert b'value="/favorites"' in response.data


def test_register_creates_account_logs_in_and_queues_welcome(client, session):
    response = client.post("/register", data={**GOOD, "next": "/favorites"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/favorites")
    user = session.scalar(select(User).where(User.email == "kari@example.test"))
    assert user is not None and user.name == "Kari Nordmann" and user.language == "sv"
    assert user.password_hash.startswith("$argon2id$")
    assert session.scalar(select(IdTag).where(IdTag.user_id == user.id, IdTag.kind == "virtual"))
    mail = session.scalar(select(OutboxEmail))
    assert (mail.to_address, mail.kind, mail.language, mail.status) == ("kari@example.test", "welcome", "sv", "queued")
    assert "lang=sv" in response.headers["Set-Cookie"]
    assert client.get("/account").status_code == 200  # logged in


def test_register_ignores_an_unsafe_next(client):
    response = client.post("/register", data={**GOOD, "next": "//evil.example/x"})
    assert response.status_code == 303
    assert "evil" not in response.headers["Location"]


def test_register_htmx_answers_with_hx_redirect(client):
    response = client.post("/register", data={**GOOD, "next": "/favorites"}, headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/favorites"


def test_register_with_a_taken_email_says_so(client, session):
    make_user(session, "kari@example.test")
    session.commit()
    response = client.post("/register", data=GOOD)
    assert response.status_code == 422
    assert b"exists already" in response.data
    assert session.scalar(select(OutboxEmail)) is None


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
