"""Shared fixtures: a private Redis, one database per run (SQLite or PostgreSQL), app and clients."""
from __future__ import annotations

import os

import pytest
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import text

from portal.db import Database
from portal.models import Base
from tests.support.services import RedisServer, create_test_database

TEST_SECRET_KEY = "test-secret-key"
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Chargers booting in tests get no configuration template nor local list unless a test asks (issue 21).
os.environ.setdefault("FLEET_SYNC", "0")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a skipped test is a failed one: a check that could not run has not passed.

    Locally a skip stays a skip (listed with its reason by `make test`), so a developer without
    Chromium or PostgreSQL can still run the rest. Expected failures (xfail) are not skips."""
    outcome = yield
    report = outcome.get_result()
    if CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        reason = reason.removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which counts as a failure: {reason}"


@pytest.fixture(scope="session")
def redis_url():
    server = RedisServer()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def database_url():
    from portal.cli import upgrade_database

    url, drop = create_test_database()
    upgrade_database(url)  # the migrations themselves are under test here
    yield url
    drop()


@pytest.fixture(scope="session")
def db(database_url, redis_url) -> Database:
    database = Database.from_url(database_url, redis_url=redis_url)  # its commits announce charger changes
    yield database
    database.dispose()


def _clean(database: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture(autouse=True)
def _isolated_database(request):
    """Every test starts from empty tables (processes other than pytest share the database)."""
    yield
    if "db" in request.fixturenames:
        _clean(request.getfixturevalue("db"))


@pytest.fixture(autouse=True)
def _fresh_redis(request):
    """Every test that uses this run's Redis starts with it empty: no job queued, claim held, failure
    counted or limiter hit left by an earlier test.

    Flushed at the start, before the test's own processes (nodes, workers, simulators) run, so nothing
    they hold is pulled away under them. The one process that outlives a test, the browser tests'
    live_server, keeps nothing in Redis it needs again (jobs it enqueues belong to their test)."""
    if "redis_url" in request.fixturenames:
        from redis import Redis

        with Redis.from_url(request.getfixturevalue("redis_url"), socket_timeout=10) as redis:
            redis.flushdb()
    yield


@pytest.fixture(autouse=True)
def _rate_limiter_back_on_redis():
    """The limiter is one object per process (one app in production). A test with Redis away leaves it
    counting in memory; the next test's app, with a working Redis, must start on Redis again."""
    yield
    from portal.auth.limits import limiter

    limiter._storage_dead = False


@pytest.fixture
def session(db):
    with db.session() as s:
        yield s


@pytest.fixture(scope="session")
def upload_dir(tmp_path_factory) -> str:
    """Where ticket photos go in this run (never the worktree's instance/ folder)."""
    return str(tmp_path_factory.mktemp("uploads"))


@pytest.fixture
def app_config(database_url, redis_url, upload_dir) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "SMTP_URL": os.environ.get("SMTP_URL", "smtp://127.0.0.1:1"),
        "PORTAL_BASE_URL": "http://portal.test",
        "RATELIMIT_ENABLED": False,
        "UPLOAD_DIR": upload_dir,
    }


@pytest.fixture
def app(app_config, db):
    from portal import create_app

    application = create_app(app_config)
    yield application
    application.extensions["portal_db"].dispose()


def _csrf_token(app) -> str:
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps("test-raw-csrf")


class _BrowserLikeClient(FlaskClient):
    """Sends the CSRF token a page would carry. Log-in starts a new session with a new CSRF token (as it
    must); a browser would read it from the next page, this client puts its own back before each request."""

    def open(self, *args, **kwargs):
        if self._cookies:
            with self.session_transaction() as s:
                s.setdefault("csrf_token", "test-raw-csrf")
        return super().open(*args, **kwargs)


def browser_like_client(app):
    """A test client that behaves like our pages in a browser: English, a valid CSRF token on every request."""
    c = _BrowserLikeClient(app, app.response_class, use_cookies=True)
    c.set_cookie("lang", "en")
    with c.session_transaction() as s:
        s["csrf_token"] = "test-raw-csrf"
    c.environ_base["HTTP_X_CSRFTOKEN"] = _csrf_token(app)
    return c


@pytest.fixture
def client(app):
    return browser_like_client(app)


@pytest.fixture
def raw_client(app):
    """A client without any CSRF token, to prove forms refuse it."""
    c = app.test_client()
    c.set_cookie("lang", "en")
    return c


@pytest.fixture
def login(db):
    """Log a client in as a user (or anything with an .id) without the password round trip: a server-side
    session is started for it, as a real log-in does."""
    from portal.models import User

    def _login(client, user) -> None:
        from portal.services.people import login_sessions

        with db.session() as s:
            token = login_sessions.start(s, s.get(User, user.id), remember=False, user_agent="pytest")
            s.commit()
        with client.session_transaction() as s:
            s["_user_id"] = f"{user.id}:{token}"
            s["_fresh"] = True

    return _login


@pytest.fixture
def smtp(monkeypatch, database_url, redis_url):
    """A real SMTP server for mail jobs run in the test (like the worker, they read DATABASE_URL, REDIS_URL
    and SMTP_URL from the environment), with an empty mail queue before and after."""
    from tests.support.mail import SmtpCatcher, reset_mail_queue

    catcher = SmtpCatcher()
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("SMTP_URL", catcher.url)
    reset_mail_queue(redis_url)
    yield catcher
    reset_mail_queue(redis_url)
    catcher.stop()
