"""Playwright fixtures driving Debian's Chromium on a phone viewport.

Fixtures: ``browser`` (package scope, see below), ``page`` (390x844, mobile, touch, en-US), ``live_server``
(session: the real web app under gunicorn on a free port, on this run's test database and
Redis; yields its base URL). Helpers (importable from tests.support.browser, also here):
``assert_no_horizontal_scroll(page)`` and ``run_axe(page)``.

Chromium: $CHROMIUM_PATH, /usr/bin/chromium or `chromium` on PATH (`make setup` installs
Debian's package). Never Playwright's own browser download. Missing Chromium skips these
tests with a message, except under CI=true, where it is an error.
"""
from __future__ import annotations

import os

import pytest

from tests.support.browser import (  # noqa: F401  (re-exported for tests)
    CHROMIUM_ARGS,
    PHONE,
    assert_no_horizontal_scroll,
    chromium_path,
    run_axe,
)
from tests.support.stack import start_web

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


# Package scope, not session: while Playwright's sync API is open it leaves an event loop
# marked as running in the main thread, so asyncio.run() in any later test (integration
# tests of the OCPP server) would fail. The browser is closed when tests/browser is done.
@pytest.fixture(scope="package")
def browser():
    path = chromium_path()
    if path is None:
        msg = ("Chromium not found (looked at $CHROMIUM_PATH, /usr/bin/chromium, PATH): "
               "apt-get install chromium, or run `make setup` as root")
        if CI:
            pytest.fail(msg, pytrace=False)
        pytest.skip(msg)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def browser_context_args() -> dict:
    """Override in a test module to change the context (e.g. locale)."""
    return dict(PHONE)


@pytest.fixture
def page(browser, browser_context_args):
    context = browser.new_context(**browser_context_args)
    context.set_default_timeout(10_000)
    p = context.new_page()
    yield p
    context.close()


@pytest.fixture(scope="session")
def live_server(database_url, redis_url, upload_dir):
    """The web app as a real process (gunicorn) on a free port; yields the base URL.

    It shares this run's database: create rows with the ``session`` fixture and commit."""
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": "browser-test-secret",
        "SMTP_URL": os.environ.get("SMTP_URL", "smtp://127.0.0.1:1"),
        "RATELIMIT_ENABLED": "0",  # many browser tests log in from 127.0.0.1 within a minute
        "UPLOAD_DIR": upload_dir,
    }
    proc, base_url = start_web(env)
    yield base_url
    proc.stop()
