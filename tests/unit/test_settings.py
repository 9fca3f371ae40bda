"""One settings module (issue 26): typed, documented once in the README, the only reader of os.environ."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from portal import settings
from portal.config import flask_config
from portal.settings import PROJECT_ROOT

PACKAGES = ("portal", "worker", "ocpp_server")
SETTINGS_MODULE = PROJECT_ROOT / "portal" / "settings.py"


def _python_files(*packages: str):
    for package in packages:
        yield from sorted((PROJECT_ROOT / package).rglob("*.py"))


def _environment_reads(path: Path) -> list[str]:
    """`os.environ`, `os.getenv`, `os.putenv` and `from os import environ/getenv` in one file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if (isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv")
                and isinstance(node.value, ast.Name) and node.value.id == "os"):
            found.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} os.{node.attr}")
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} from os import {a.name}"
                      for a in node.names if a.name in ("environ", "getenv", "putenv")]
    return found


def test_only_the_settings_module_reads_the_environment():
    reads = [hit for path in _python_files(*PACKAGES) if path != SETTINGS_MODULE for hit in _environment_reads(path)]
    assert reads == [], "read settings through portal.settings, not the environment:\n" + "\n".join(reads)


def test_the_domain_does_not_import_the_worker():
    hits = []
    for path in _python_files("portal"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            hits += [f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} {n}" for n in names
                     if n == "worker" or n.startswith("worker.")]
    assert hits == []


def _readme_settings() -> list[str]:
    text = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    first_cells = re.findall(r"^\| (`[A-Z0-9_]+`(?:, `[A-Z0-9_]+`)*) \|", section, re.M)
    return [name for cell in first_cells for name in re.findall(r"`([A-Z0-9_]+)`", cell)]


def test_every_setting_is_in_the_readme_table_once_and_nothing_else():
    documented = _readme_settings()
    assert sorted(documented) == sorted(settings.env_name(name) for name in settings.FIELDS)
    assert len(documented) == len(set(documented))


def test_unset_or_empty_means_the_default_and_values_are_typed():
    env = {"OCPP_PORT": "9100", "OCPP_CACHE_MAX_AGE_S": "1.5", "RATELIMIT_ENABLED": "off", "COOKIE_SECURE": "1",
           "SMTP_URL": ""}
    loaded = settings.load(env)
    assert loaded.ocpp_port == 9100 and loaded.ocpp_cache_max_age_s == 1.5
    assert loaded.ratelimit_enabled is False and loaded.cookie_secure is True
    assert loaded.smtp_url == settings.Settings.smtp_url and loaded.ocpp_node_id == ""
    assert settings.load({}).cookie_secure is None
    assert settings.get("ocpp_port", env) == 9100


def test_a_value_a_setting_cannot_take_names_the_variable():
    with pytest.raises(settings.SettingError, match="OCPP_PORT"):
        settings.load({"OCPP_PORT": "ninety"})
    with pytest.raises(settings.SettingError, match="OCPP_GC_TUNING"):
        settings.get("ocpp_gc_tuning", {"OCPP_GC_TUNING": "maybe"})


def test_the_secret_key_comes_from_the_environment_else_the_key_file(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text("from-the-file-" + "f" * 40 + "\n")
    env = {"SECRET_KEY_FILE": str(key_file)}
    assert settings.load(env).secret_key == "from-the-file-" + "f" * 40
    assert settings.load({**env, "SECRET_KEY": "from-env-" + "e" * 40}).secret_key == "from-env-" + "e" * 40
    assert settings.load({"SECRET_KEY_FILE": str(tmp_path / "missing")}).secret_key == ""
    assert settings.Settings.secret_key_file == str(PROJECT_ROOT / "instance" / "secret_key")


def test_flask_config_is_the_settings_then_the_test_mapping(monkeypatch):
    monkeypatch.setenv("SUPPORT_PHONE", "+47 99 99 99 99")
    monkeypatch.setenv("TRUSTED_PROXIES", "2")
    config = flask_config({"TRUSTED_PROXIES": 0, "TESTING": True})
    assert config["SUPPORT_PHONE"] == "+47 99 99 99 99" and config["TRUSTED_PROXIES"] == 0
    assert config["TESTING"] is True and config["LANGUAGES"] == ("nb", "sv", "en")
    assert config["RATELIMIT_ENABLED"] is True and config["OCPP_PORT"] == 9000
