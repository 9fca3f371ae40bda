"""The account page: name, language (with the cookie), password change with a notice e-mail."""
from __future__ import annotations

from sqlalchemy import select

from portal.models import OutboxEmail, User
from portal.services.people.secrets import verify_secret
from tests.factories import PASSWORD, make_user


def test_account_needs_log_in(client):
    response = client.get("/account")
    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"]


def test_account_page_shows_both_forms(client, session, login):
    user = make_user(session, "ann@example.test", name="Ann")
    session.commit()
    login(client, user)
    page = client.get("/account")
    assert page.status_code == 200
    for testid in (b"profile-form", b"password-form", b"account-email"):
        assert b'data-testid="' + testid + b'"' in page.data
    assert b'value="Ann"' in page.data


def test_change_name_and_language(client, session, login):
    user = make_user(session, "ann@example.test", name="Ann")
    session.commit()
    login(client, user)
    response = client.post("/account/profile", data={"profile-name": "Ann Svensson", "profile-language": "sv"})
    assert response.status_code == 303
    assert "lang=sv" in response.headers["Set-Cookie"]
    session.expire_all()
    changed = session.get(User, user.id)
    assert (changed.name, changed.language) == ("Ann Svensson", "sv")
    assert b'<html lang="sv">' in client.get("/account").data


def test_profile_validation(client, session, login):
    user = make_user(session, "ann@example.test")
    session.commit()
    login(client, user)
    response = client.post("/account/profile", data={"profile-name": "", "profile-language": "de"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert b"This field is required" in response.data
    assert b"Not a valid choice" in response.data or b"valid" in response.data


def test_change_password(client, session, login):
    user = make_user(session, "ann@example.test")
    session.commit()
    login(client, user)
    data = {"password-current_password": PASSWORD, "password-new_password": "another-long-one",
            "password-confirm": "another-long-one"}
    response = client.post("/account/password", data=data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert b'data-testid="password-saved"' in response.data
    session.expire_all()
    assert verify_secret(session.get(User, user.id).password_hash, "another-long-one")
    notice = session.scalar(select(OutboxEmail))
    assert notice.kind == "password_changed" and notice.to_address == "ann@example.test"


def test_change_password_needs_the_current_one(client, session, login):
    user = make_user(session, "ann@example.test")
    session.commit()
    login(client, user)
    data = {"password-current_password": "wrong", "password-new_password": "another-long-one",
            "password-confirm": "another-long-one"}
    response = client.post("/account/password", data=data)
    assert response.status_code == 422
    assert b"not your current password" in response.data
    session.expire_all()
    assert verify_secret(session.get(User, user.id).password_hash, PASSWORD)


def test_changing_the_password_ends_other_sessions_but_keeps_this_one(app, client, session, login):
    """A stolen or forgotten session (another phone, a shared computer) ends when the password changes."""
    user = make_user(session, "ann@example.test")
    session.commit()
    other_device = app.test_client()
    login(other_device, user)
    login(client, user)
    assert other_device.get("/account").status_code == 200
    data = {"password-current_password": PASSWORD, "password-new_password": "another-long-one",
            "password-confirm": "another-long-one"}
    assert client.post("/account/password", data=data).status_code == 200
    assert client.get("/account").status_code == 200
    response = other_device.get("/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
