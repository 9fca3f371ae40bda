"""On a phone (390x844): log in, switch to Swedish and back to English; register and reset pages fit too."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.models import User
from tests.factories import PASSWORD, make_user
from tests.support.browser import assert_no_horizontal_scroll, run_axe


@pytest.fixture
def resident(session):
    user = make_user(session, "phone@example.test", name="Pia Phone", language="nb")
    session.commit()
    return user


def _switch(page, language: str) -> None:
    with page.expect_navigation():
        page.locator(f'[data-testid="language-switcher"] button[value="{language}"]').click()
    assert page.locator("html").get_attribute("lang") == language
    assert page.locator(f'[data-testid="language-switcher"] button[value="{language}"]') \
        .get_attribute("aria-current") == "true"


def test_log_in_and_switch_language(page, live_server, resident, session):
    page.goto(f"{live_server}/login")
    assert page.locator("html").get_attribute("lang") == "en"  # the phone asks for English
    form = page.locator('[data-testid="login-form"]')
    form.get_by_label("E-mail").fill("phone@example.test")
    form.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        form.get_by_role("button", name="Log in").click()
    assert "/login" not in page.url

    _switch(page, "sv")
    page.locator('[data-testid="main-menu"] summary').click()
    menu = page.locator('[data-testid="main-menu"] nav')
    assert menu.get_by_role("button", name="Logga ut", exact=True).is_visible()  # Swedish, as written
    assert menu.get_by_role("link", name="Mitt konto", exact=True).is_visible()
    assert_no_horizontal_scroll(page)
    session.expire_all()
    assert session.scalar(select(User.language).where(User.id == resident.id)) == "sv"  # remembered

    page.goto(f"{live_server}/account")
    assert page.locator("html").get_attribute("lang") == "sv"
    assert page.locator('[data-testid="profile-form"] select').input_value() == "sv"
    assert_no_horizontal_scroll(page)

    _switch(page, "en")
    assert page.locator("h1").inner_text() == "My account"
    assert run_axe(page) == []


def test_wrong_password_shows_the_message_in_place(page, live_server, resident):
    page.goto(f"{live_server}/login")
    form = page.locator('[data-testid="login-form"]')
    form.get_by_label("E-mail").fill("phone@example.test")
    form.get_by_label("Password").fill("not-the-password")
    form.get_by_role("button", name="Log in").click()
    error = page.locator('[data-testid="login-form"] .field-error')
    error.wait_for()
    assert "Wrong e-mail or password" in error.inner_text()
    assert page.url.endswith("/login")


@pytest.mark.parametrize("path", ["/register", "/reset"])
def test_account_pages_fit_a_phone(page, live_server, path):
    page.goto(f"{live_server}{path}")
    assert_no_horizontal_scroll(page)
    assert run_axe(page) == []
