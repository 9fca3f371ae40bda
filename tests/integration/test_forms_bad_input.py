"""Bad input to the log-in and account forms: a clear message, 400/422, never a 500.

Cases per form: empty, too long, wrong format, control characters, and a missing or wrong CSRF
token. Messages are asserted in English (the `client` fixture's language) and, for Swedish, as the
literal Swedish text a reader must see.
"""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import PASSWORD, make_user

LONG = "x" * 300
LONG_EMAIL = "a" * 250 + "@example.test"
NUL = "Ann\x00Nordmann"
REQUIRED = "This field is required."
INVALID_EMAIL = "Enter a valid e-mail address"
TOO_LONG = "cannot be longer than"
PW_LENGTH = "between 12 and 128 characters"
NOT_SAME = "The two passwords are not the same."
PLAIN = "Use letters, digits and punctuation only."

REGISTER_OK = {"name": "Ann", "email": "ann@example.test", "password": "long-enough-pw",
               "confirm": "long-enough-pw", "language": "en"}
ACCOUNT_PW_OK = {"password-current_password": PASSWORD, "password-new_password": "another-long-one",
                 "password-confirm": "another-long-one"}


def errors(response) -> list[str]:
    return re.findall(r'class="field-error"[^>]*>([^<]*)<', response.get_data(as_text=True))


def assert_refused(response, *messages: str) -> None:
    assert response.status_code == 422, response.status_code
    shown = " ".join(errors(response))
    for message in messages:
        assert message in shown, f"{message!r} not in {shown!r}"


@pytest.fixture
def user(session):
    u = make_user(session, "ann@example.test")
    session.commit()
    return u


@pytest.fixture
def reset_link(client, session, user):
    from portal.services.people.accounts import make_reset_token

    token, _ = make_reset_token(user, client.application.secret_key)
    return f"/reset/{token}"


@pytest.mark.parametrize("data, messages", [
    ({}, [REQUIRED]),
    ({"email": "", "password": ""}, [REQUIRED]),
    ({"email": LONG_EMAIL, "password": "x"}, [TOO_LONG]),
    ({"email": "not-an-address", "password": "x"}, [INVALID_EMAIL]),
    ({"email": "ann@example.test", "password": LONG}, [TOO_LONG]),
    ({"email": "ann\x00@example.test", "password": "x"}, [INVALID_EMAIL]),
])
def test_login_form(client, user, data, messages):
    assert_refused(client.post("/login", data=data), *messages)


@pytest.mark.parametrize("change, messages", [
    ({k: "" for k in REGISTER_OK}, [REQUIRED]),
    ({"name": LONG}, [TOO_LONG]),
    ({"name": NUL}, [PLAIN]),
    ({"email": LONG_EMAIL}, [TOO_LONG]),
    ({"email": "ann@"}, [INVALID_EMAIL]),
    ({"password": "short", "confirm": "short"}, [PW_LENGTH]),
    ({"password": LONG, "confirm": LONG}, [PW_LENGTH]),
    ({"confirm": "different-pw"}, [NOT_SAME]),
    ({"language": "de"}, ["Not a valid choice"]),
])
def test_register_form(client, change, messages):
    assert_refused(client.post("/register", data={**REGISTER_OK, **change}), *messages)


def test_register_with_a_very_long_next_is_not_an_error(client):
    response = client.post("/register", data={**REGISTER_OK, "next": "/" + "n" * 5000})
    assert response.status_code == 200 and b'data-testid="register-sent"' in response.data


@pytest.mark.parametrize("data, messages", [
    ({}, [REQUIRED]),
    ({"email": LONG_EMAIL}, [TOO_LONG]),
    ({"email": "two@@example.test"}, [INVALID_EMAIL]),
])
def test_reset_request_form(client, data, messages):
    assert_refused(client.post("/reset", data=data), *messages)


@pytest.mark.parametrize("data, messages", [
    ({}, [REQUIRED]),
    ({"password": "short", "confirm": "short"}, [PW_LENGTH]),
    ({"password": LONG, "confirm": LONG}, [PW_LENGTH]),
    ({"password": "long-enough-pw", "confirm": "long-enough-px"}, [NOT_SAME]),
])
def test_reset_password_form(client, reset_link, data, messages):
    assert_refused(client.post(reset_link, data=data), *messages)


@pytest.mark.parametrize("data, messages", [
    ({}, [REQUIRED]),
    ({"profile-name": LONG, "profile-language": "en"}, [TOO_LONG]),
    ({"profile-name": NUL, "profile-language": "en"}, [PLAIN]),
    ({"profile-name": "Ann", "profile-language": "xx"}, ["Not a valid choice"]),
])
def test_account_profile_form(client, login, user, data, messages):
    login(client, user)
    assert_refused(client.post("/account/profile", data=data), *messages)


@pytest.mark.parametrize("change, messages", [
    ({k: "" for k in ACCOUNT_PW_OK}, [REQUIRED]),
    ({"password-current_password": LONG}, [TOO_LONG]),
    ({"password-new_password": "short", "password-confirm": "short"}, [PW_LENGTH]),
    ({"password-confirm": "something-else"}, [NOT_SAME]),
])
def test_account_password_form(client, login, user, change, messages):
    login(client, user)
    assert_refused(client.post("/account/password", data={**ACCOUNT_PW_OK, **change}), *messages)


FORM_POSTS = ["/login", "/register", "/reset", "/account/profile", "/account/password", "/logout"]


@pytest.mark.parametrize("path", FORM_POSTS)
def test_missing_csrf_token_is_refused(raw_client, login, user, path):
    login(raw_client, user)
    response = raw_client.post(path, data={"email": "ann@example.test", "password": PASSWORD})
    assert response.status_code == 400
    assert b"The form had expired" in response.data


@pytest.mark.parametrize("path", FORM_POSTS)
def test_wrong_csrf_token_is_refused(client, login, user, path):
    login(client, user)
    response = client.post(path, data={"email": "ann@example.test"}, headers={"X-CSRFToken": "forged.token"})
    assert response.status_code == 400
    assert b"The form had expired" in response.data


def test_csrf_refusal_as_htmx_fragment(raw_client):
    response = raw_client.post("/reset", data={"email": "ann@example.test"}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert b"<html" not in response.data and b'data-testid="error-400"' in response.data


def test_messages_follow_the_users_language(client):
    client.set_cookie("lang", "sv")
    response = client.post("/register", data={**REGISTER_OK, "name": "", "confirm": "other-pw-123"})
    assert response.status_code == 422
    assert '<html lang="sv">' in response.get_data(as_text=True)
    shown = set(errors(response))
    assert "Det här fältet är obligatoriskt." in shown  # WTForms' own message, already Swedish
    assert "Lösenorden är inte likadana." in shown  # ours: "The two passwords are not the same."


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=200), email=st.text(max_size=300), password=st.text(max_size=200))
def test_arbitrary_text_never_causes_a_server_error(client, name, email, password):
    data = {"name": name, "email": email, "password": password, "confirm": password, "language": "nb"}
    for path in ("/register", "/reset", "/login"):
        assert client.post(path, data=data).status_code in (200, 303, 422), path
