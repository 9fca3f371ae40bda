"""Every setting of the web app, the worker, the OCPP node and the CLI, in one place (no Flask import).

Each field of `Settings` is an environment variable of the same name in upper case (`database_url` is
DATABASE_URL); an unset or empty variable means the default. The README's Configuration table says
what each one means and which process reads it (`tests/unit/test_settings.py` keeps the two in step).
This is the only module of portal/, worker/ and ocpp_server/ that reads `os.environ`.

    load()                    all settings as the environment says now (start-up paths)
    get("ocpp_tag_expiry_s")  one setting, read now (hot paths; a changed variable is seen at once)

The secret key is SECRET_KEY, else the key `make run` keeps in SECRET_KEY_FILE (instance/secret_key),
so every entry point (web, worker, node, `flask --app portal ...` in a second terminal) finds the same one.
"""
from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"

# RQ queues in the order a worker takes jobs from them: a start never waits behind an e-mail. Names the
# web, the domain (which enqueues) and the worker agree on; not configurable.
CHARGER_QUEUE = "charger"
DEFAULT_QUEUE = "default"
MAIL_QUEUE = "mail"
QUEUES = (CHARGER_QUEUE, DEFAULT_QUEUE, MAIL_QUEUE)
# A charger action's job: its result and failure are kept this long; retries only cover failures before
# the request is claimed (queued -> sent), after that a repeated job finds the row no longer queued.
ACTION_RESULT_TTL_S = 600
ACTION_FAILURE_TTL_S = 24 * 3600
ACTION_RETRY_INTERVALS_S = (1, 3)

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")


class SettingError(ValueError):
    """An environment variable holds a value its setting cannot take."""


@dataclass(frozen=True)
class Settings:
    """Names, types and defaults; the meaning of each is in the README's Configuration table."""

    # --- everyone -----------------------------------------------------------------------------------
    database_url: str = f"sqlite:///{INSTANCE_DIR / 'portal.db'}"
    redis_url: str = "redis://127.0.0.1:6379/0"
    secret_key: str = ""  # else read from secret_key_file; the web refuses to start without a real one
    secret_key_file: str = str(INSTANCE_DIR / "secret_key")
    portal_base_url: str = "http://127.0.0.1:5000"
    # --- web ------------------------------------------------------------------------------------------
    support_phone: str = "+47 21 00 00 00"
    support_email: str = "support@portal.example"
    sales_email: str = "sales@portal.example"
    sales_language: str = "nb"
    upload_dir: str = str(INSTANCE_DIR / "uploads")
    cookie_secure: bool | None = None  # None: Secure cookies when portal_base_url is https
    trusted_proxies: int = 0
    session_idle_minutes: int = 120
    session_max_hours: int = 12
    remember_idle_days: int = 30
    remember_max_days: int = 90
    ratelimit_enabled: bool = True
    ticket_urgent_categories: str = "start_stop"
    ticket_urgent_target_minutes: int = 60
    ticket_target_working_hours: float = 8
    support_hours: str = "08-16"
    support_timezone: str = "Europe/Oslo"
    # --- web and worker -------------------------------------------------------------------------------
    smtp_url: str = "smtp://127.0.0.1:8025"
    mail_from: str = "Ladeportalen <no-reply@portal.example>"
    spot_price_source: str = ""
    operator_name: str = "Ladeportalen AS"
    operator_org_number: str = "923 609 016"
    operator_bank_account: str = "8601 11 17947"
    operator_bankgiro: str = "5050-1055"
    operator_payment_days: int = 14
    operator_kid_method: str = "mod10"
    operator_ocr_length_digit: bool = True
    operator_reminder_fee_nok_minor: int = 0
    operator_reminder_fee_sek_minor: int = 0
    reminder_first_days: int = 7
    reminder_second_days: int = 14
    account_receivable: str = "1500"  # issue 24 part 5: accounts of the postings export
    account_sales_charging: str = "3000"
    account_vat_out: str = "2700"
    account_bank: str = "1920"
    account_payout_liability: str = "2400"
    account_operator_fee: str = "3100"
    bank_file_max_bytes: int = 1024 * 1024
    rfid_retention_days: int = 90
    action_deadline_s: float = 45
    action_sweep_grace_s: float = 10
    action_sweep_interval_s: int = 15
    action_no_start_after_s: float = 90
    action_tap_window_s: float = 5
    worker_processes: int = 2
    ocpp_log_retention_days: int = 30
    firmware_max_mb: int = 200
    firmware_wave_size: int = 5
    firmware_url_hours: int = 48
    firmware_stall_hours: float = 6
    diagnostics_max_mb: int = 50
    diagnostics_url_minutes: int = 60
    diagnostics_retention_days: int = 30
    fault_history_retention_days: int = 400
    incident_offline_heartbeats: int = 3
    incident_suspended_after_s: int = 900
    incident_recovery_after_s: int = 600
    incident_failed_starts: int = 3
    incident_failed_starts_window_s: int = 3600
    incident_site_dark_window_s: int = 300
    incident_outage_mail_quiet_s: int = 21600
    # --- OCPP node --------------------------------------------------------------------------------------
    ocpp_host: str = "127.0.0.1"
    ocpp_port: int = 9000
    ocpp_node_id: str = ""  # empty: a unique id per node process (host name, process id, random suffix)
    ocpp_reuse_port: bool = False
    ocpp_tls_cert: str = ""
    ocpp_tls_key: str = ""
    ocpp_tag_expiry_s: int = 900
    fleet_sync: bool = True  # issue 21: configuration templates and local lists sent by themselves
    ocpp_max_frame_bytes: int = 256 * 1024
    ocpp_max_messages_per_s: float = 20
    ocpp_idle_timeout_s: float = 0
    ocpp_ping_interval_s: float = 30
    ocpp_db_statement_timeout_s: float = 10
    ocpp_cache_max_age_s: float = 60
    ocpp_claim_ttl_s: float = 30
    ocpp_last_seen_flush_s: float = 2.0
    ocpp_group_commit_window_s: float = 0.002
    ocpp_group_commit_max: int = 256
    ocpp_auth_concurrency: int = 2
    ocpp_auth_max_failures: int = 10
    ocpp_auth_window_s: int = 300
    ocpp_auth_penalty_s: float = 1
    ocpp_waiting_max_rows: int = 500
    ocpp_waiting_flush_s: float = 1.0
    ocpp_waiting_keep_days: int = 30
    ocpp_msglog_buffer_bytes: int = 8 * 1024 * 1024
    ocpp_msglog_budget_bytes: int = 1024 * 1024
    ocpp_msglog_budget_window_s: float = 3600
    ocpp_msglog_frame_max_bytes: int = 16 * 1024
    ocpp_health_token: str = ""
    ocpp_health_details_private: bool = True
    ocpp_gc_tuning: bool = True


FIELDS: dict[str, dataclasses.Field] = {f.name: f for f in dataclasses.fields(Settings)}
_TYPES: dict[str, Any] = typing.get_type_hints(Settings)


def env_name(name: str) -> str:
    """The environment variable of a setting."""
    return name.upper()


def _parse_bool(raw: str, variable: str) -> bool:
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise SettingError(f"{variable}={raw!r}: expected one of {', '.join(TRUE + FALSE)}")


def _convert(name: str, raw: str) -> Any:
    kind, variable = _TYPES[name], env_name(name)
    try:
        if kind in (bool, bool | None):
            return _parse_bool(raw, variable)
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError as exc:
        raise SettingError(f"{variable}={raw!r} is not a valid {getattr(kind, '__name__', kind)}") from exc
    return raw


def read_key_file(path: str | Path) -> str:
    """The key in `path` (written by `make run` through ensure_key_file), or "" when there is none."""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError:
        return ""


def get(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """One setting as the environment says now: its variable when set and not empty, else the default."""
    env = os.environ if environ is None else environ
    raw = env.get(env_name(name))
    if raw:
        return _convert(name, raw)
    if name == "secret_key":
        return read_key_file(get("secret_key_file", env))
    return FIELDS[name].default


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """All settings as the environment says now."""
    return Settings(**{name: get(name, environ) for name in FIELDS})


def action_job_timeout_s() -> int:
    """A charger action's job is killed after this long: its request's deadline plus a margin."""
    return int(get("action_deadline_s") + 15)


def action_job_ttl_s() -> int:
    """A job still waiting in Redis after the deadline is pointless: RQ drops it (the row shows why)."""
    return int(get("action_deadline_s"))
