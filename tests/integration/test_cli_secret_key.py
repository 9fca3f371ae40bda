"""Issue 26: an operations command in a second terminal beside `make run`, with no variable exported,
finds the key `make run` keeps in instance/secret_key, like the web, the worker and the node."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from portal.models import ChargePoint
from portal.security.secret_key import ensure_key_file
from portal.settings import PROJECT_ROOT
from tests.factories import make_site

KEY = "operator-terminal-key-" + "q" * 40


def _flask(database_url: str, redis_url: str, key_file: Path, *args: str) -> subprocess.CompletedProcess:
    """`flask --app portal ...` as an operator types it: SECRET_KEY not exported. SECRET_KEY_FILE points
    at this test's key file instead of the worktree's instance/secret_key (same lookup, other path)."""
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, SECRET_KEY_FILE=str(key_file))
    return subprocess.run([sys.executable, "-m", "flask", "--app", "portal", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_without_secret_key_uses_the_key_file_make_run_keeps(database_url, redis_url, session, tmp_path):
    make_site(session, slug="terminal")
    session.commit()
    key_file = tmp_path / "instance" / "secret_key"
    ensure_key_file(key_file)  # what `make run` does
    done = _flask(database_url, redis_url, key_file, "chargers", "add", "CP-TERMINAL-1", "--site", "terminal")
    assert done.returncode == 0, done.stdout + done.stderr
    session.expire_all()
    assert session.scalar(select(ChargePoint).where(ChargePoint.identity == "CP-TERMINAL-1")) is not None


def test_cli_without_key_or_key_file_says_what_to_do(database_url, redis_url, tmp_path):
    missing = tmp_path / "instance" / "secret_key"
    done = _flask(database_url, redis_url, missing, "chargers", "add", "CP-TERMINAL-2", "--site", "terminal")
    assert done.returncode != 0
    assert "SECRET_KEY is missing or too weak" in done.stderr
    assert "make run" in done.stderr and str(missing) in done.stderr


def test_every_entry_point_reads_the_same_key(monkeypatch, tmp_path):
    """Web (create_app), worker and node all read portal.settings: the environment first, then the file."""
    from portal import create_app, settings

    key_file = tmp_path / "secret_key"
    key_file.write_text(KEY + "\n")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("SECRET_KEY_FILE", str(key_file))
    assert settings.get("secret_key") == settings.load().secret_key == KEY
    app = create_app({"DATABASE_URL": "sqlite://"})
    assert app.secret_key == KEY
    app.extensions["portal_db"].dispose()
    monkeypatch.setenv("SECRET_KEY", "from-the-environment-" + "z" * 30)
    assert settings.get("secret_key").startswith("from-the-environment-")
    assert settings.read_key_file(tmp_path / "none") == ""
