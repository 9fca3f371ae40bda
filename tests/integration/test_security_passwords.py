"""New passwords: at least 12 characters and not a common or breached pattern, on every form and the CLI."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.models import User
from portal.security.passwords import is_weak, password_problem
from tests.factories import PASSWORD, make_user

WEAK = ["password1234", "Passord2024!", "sommer2024sommer", "123456789012", "qwertyuiopas", "aaaaaaaaaaaa",
        "abcabcabcabc", "P@ssw0rd!!!!", "ladeportalen1", "Velkommen123!", "iloveyou2020", "solbakken2025"]
STRONG = ["correct-horse-battery", "tre ord som passer", "blå sykkel i regnet", "kaffe-Tromsø-lampe-9"]


@pytest.mark.parametrize("password", WEAK)
def test_common_and_breached_patterns_are_refused(password):
    assert is_weak(password)


@pytest.mark.parametrize("password", STRONG)
def test_unusual_passphrases_are_fine(password):
    assert password_problem(password) is None


def test_the_account_name_is_not_a_password():
    assert is_weak("kari.nordmann2024", email="kari.nordmann@example.no")


def test_eleven_characters_are_too_few():
    assert password_problem("xq7-Lm2-Pz9") == "length" and password_problem("xq7-Lm2-Pz9a") is None


REGISTER = {"name": "Kari", "email": "kari@example.test", "language": "en"}


@pytest.mark.parametrize("password, message", [("ab-cd-ef-gh", b"between 12 and 128 characters"),
                                               ("Password2024!", b"too common")])
def test_registration_refuses_short_and_common_passwords(client, session, password, message):
    response = client.post("/register", data={**REGISTER, "password": password, "confirm": password})
    assert response.status_code == 422 and message in response.data
    assert b'value="kari@example.test"' in response.data  # the rest of the input is kept
    assert session.scalar(select(User)) is None


def test_password_change_refuses_a_common_password(client, login, session):
    user = make_user(session, "ann@example.test")
    session.commit()
    login(client, user)
    data = {"password-current_password": PASSWORD, "password-new_password": "ann@example.test1",
            "password-confirm": "ann@example.test1"}
    response = client.post("/account/password", data=data)
    assert response.status_code == 422 and b"too common" in response.data


def test_password_change_page_in_norwegian_explains_it(client, login, session):
    user = make_user(session, "ann@example.test")
    session.commit()
    login(client, user)
    client.set_cookie("lang", "nb")
    data = {"password-current_password": PASSWORD, "password-new_password": "qwertyuiop123",
            "password-confirm": "qwertyuiop123"}
    response = client.post("/account/password", data=data)
    assert response.status_code == 422 and "for vanlig".encode() in response.data


@pytest.mark.parametrize("password, message", [("short-pw", "12 to 128"), ("password123456", "too common")])
def test_flask_users_create_uses_the_same_rule(app, session, password, message):
    result = app.test_cli_runner().invoke(args=["users", "create", "--email", "x@example.test",
                                                "--password", password])
    assert result.exit_code != 0 and message in result.output
    assert session.scalar(select(User)) is None
