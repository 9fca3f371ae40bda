"""The app will not start on a missing or published SECRET_KEY; demo accounts never join real ones."""
from __future__ import annotations

import stat

import pytest
from sqlalchemy import func, select

from portal.models import User
from portal.security.secret_key import WeakSecretKey, ensure_key_file
from tests.factories import make_user


def _create(app_config, **overrides):
    from portal import create_app

    return create_app({**app_config, "TESTING": False, **overrides})


@pytest.mark.parametrize("key", ["", "dev-only-secret-change-me", "short"])
def test_the_app_refuses_to_start_without_a_real_secret_key(app_config, monkeypatch, key):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(WeakSecretKey):
        _create(app_config, SECRET_KEY=key)


def test_the_app_starts_with_a_real_key_and_tests_may_use_a_fixed_one(app_config):
    app = _create(app_config, SECRET_KEY="x9V2-long-random-looking-key-0123456789")
    app.extensions["portal_db"].dispose()


def test_make_run_key_file_is_created_once_private_and_reused(tmp_path):
    path = tmp_path / "instance" / "secret_key"
    first = ensure_key_file(path)
    assert len(first) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert ensure_key_file(path) == first


def test_seed_demo_refuses_a_database_with_real_accounts(app, session):
    make_user(session, "kari@borettslag.no")
    session.commit()
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0 and "not demo accounts" in result.output
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(User)) == 1


def test_no_demo_account_exists_unless_seed_demo_was_asked_for(app, client, session):
    client.get("/login")
    client.get("/")
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_accounts_from_before_the_upgrade_count_as_confirmed(tmp_path):
    """Migration 0005 must not lock existing users out: they were accepted before confirmation existed."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import create_engine, text

    from portal.config import PROJECT_ROOT

    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = AlembicConfig(str(PROJECT_ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logging"] = False
    command.upgrade(cfg, "0001")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users (email, name, phone, password_hash, language, active, created_at) "
                          "VALUES ('old@example.test', '', '', 'x', 'nb', 1, '2025-01-01 10:00:00.000000')"))
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT email_verified_at FROM users")).scalar() is not None
    engine.dispose()


def test_seed_demo_accounts_can_log_in(app, client, session):
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    response = client.post("/login", data={"email": "resident@demo.test", "password": "demo-password"})
    assert response.status_code == 303
