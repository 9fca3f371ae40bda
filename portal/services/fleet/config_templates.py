"""Configuration templates per charger model and what each charger answered to them.

A template is a list of (key, value) pairs for one vendor and model (as the BootNotification gave them).
The template for a charger: its vendor and model's, else the default template kept by staff (empty vendor
and model), else SHIPPED_DEFAULT. Keys unknown to us are allowed: chargers differ, and their answer
(NotSupported, Rejected) is recorded and shown. Flask-free; functions flush, never commit."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import ChargePoint, ChargerConfigKey, ConfigTemplate
from portal.services.people.secrets import is_secret_key

# Per-phase current (the charger reports each phase) and the current offered: what smart charging needs.
SAMPLED = "Energy.Active.Import.Register,Current.Import,Current.Offered,Power.Active.Import"
SHIPPED_DEFAULT: tuple[tuple[str, str], ...] = (
    ("MeterValuesSampledData", SAMPLED),
    ("MeterValueSampleInterval", "30"),
    ("HeartbeatInterval", "300"),
    ("AuthorizeRemoteTxRequests", "false"),
    ("LocalAuthListEnabled", "true"),
    ("LocalAuthorizeOffline", "true"),
    ("LocalPreAuthorize", "false"),
)
# Answers that leave the key as we want it (RebootRequired: from the charger's next boot).
GOOD = ("Accepted", "InPlace", "RebootRequired")
PROBLEMS = ("Rejected", "NotSupported", "Failed")
KEY_MAX, VALUE_MAX = 50, 500  # OCPP 1.6 CiString50 key, CiString500 value


@dataclass(frozen=True)
class Chosen:
    name: str
    entries: list[tuple[str, str]]
    template_id: int | None  # None: the shipped default


def parse_entries(text: str) -> tuple[list[tuple[str, str]], list[tuple[int, str]]]:
    """`Key=Value` lines (blank lines skipped) -> entries and problems as (line number, code)."""
    entries: list[tuple[str, str]] = []
    problems: list[tuple[int, str]] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        code = ("no_equals" if not sep else "no_key" if not key else "key_too_long" if len(key) > KEY_MAX
                else "bad_key" if not key.isascii() or " " in key else "secret" if is_secret_key(key)
                else "value_too_long" if len(value) > VALUE_MAX
                else "duplicate" if key in seen else None)
        if code:
            problems.append((number, code))
            continue
        seen.add(key)
        entries.append((key, value))
    if not entries and not problems:
        problems.append((0, "empty"))
    return entries, problems


def entries_text(entries: list) -> str:
    return "\n".join(f"{key}={value}" for key, value in entries)


def template_for(session: Session, vendor: str, model: str) -> Chosen:
    """The template for a charger of this vendor and model (see the module docstring)."""
    rows = session.scalars(select(ConfigTemplate).where(
        ((ConfigTemplate.vendor == vendor) & (ConfigTemplate.model == model))
        | ((ConfigTemplate.vendor == "") & (ConfigTemplate.model == "")))).all()
    row = next((r for r in rows if r.vendor == vendor and r.model == model and (vendor or model)), None) \
        or next((r for r in rows if not r.vendor and not r.model), None)
    if row is None:
        return Chosen("", list(SHIPPED_DEFAULT), None)
    return Chosen(row.name, [(k, v) for k, v in row.entries], row.id)


def same(key: str, wanted: str, found: str | None) -> bool:
    """Does the charger's value mean what we want? Lists compare as sets, booleans without case."""
    if found is None:
        return False
    if "," in wanted or "," in found:
        return {p.strip() for p in wanted.split(",") if p.strip()} == {p.strip() for p in found.split(",") if p.strip()}
    return wanted.strip().lower() == found.strip().lower()


def keys_of(session: Session, cp_id: int) -> dict[str, ChargerConfigKey]:
    return {row.key: row for row in session.scalars(
        select(ChargerConfigKey).where(ChargerConfigKey.charge_point_id == cp_id).order_by(ChargerConfigKey.key))}


def forget_other_keys(session: Session, cp_id: int, keys: list[str]) -> None:
    """Drop the answers of keys the charger's template no longer has."""
    session.execute(delete(ChargerConfigKey).where(ChargerConfigKey.charge_point_id == cp_id,
                                                   ChargerConfigKey.key.not_in(keys or [""])))


def record(session: Session, cp_id: int, key: str, wanted: str, status: str, detail: str = "",
           now: datetime | None = None) -> ChargerConfigKey:
    """The charger's answer for one key (Accepted, Rejected, RebootRequired, NotSupported, Failed, InPlace)."""
    row = session.scalar(select(ChargerConfigKey).where(ChargerConfigKey.charge_point_id == cp_id,
                                                        ChargerConfigKey.key == key))
    if row is None:
        row = ChargerConfigKey(charge_point_id=cp_id, key=key)
        session.add(row)
    row.wanted, row.status, row.detail, row.answered_at = wanted, status, detail[:200], now or utcnow()
    if key == "HeartbeatInterval" and status in GOOD and wanted.isdigit():
        cp = session.get(ChargePoint, cp_id)  # the offline detection expects heartbeats at this interval
        if cp is not None and int(wanted) > 0:
            cp.heartbeat_interval = int(wanted)
    session.flush()
    return row


def record_drift(session: Session, cp_id: int, key: str, found: str | None, now: datetime | None = None) -> None:
    """A key that was in place now holds another value on the charger (None: the charger no longer knows it)."""
    row = session.scalar(select(ChargerConfigKey).where(ChargerConfigKey.charge_point_id == cp_id,
                                                        ChargerConfigKey.key == key))
    if row is not None:
        row.drift_value, row.drift_at = ("" if found is None else found[:500]), now or utcnow()
        session.flush()


def drifted(previous: ChargerConfigKey | None, wanted: str) -> bool:
    """Was this key in place with the same wanted value (so a different value now is drift)?"""
    return previous is not None and previous.status in GOOD and previous.wanted == wanted


def problems(session: Session, cp_id: int) -> list[ChargerConfigKey]:
    """Keys the charger refused, does not know, did not answer, or needs a reboot for."""
    return [row for row in keys_of(session, cp_id).values() if row.status in (*PROBLEMS, "RebootRequired")]


def templates(session: Session) -> list[ConfigTemplate]:
    return list(session.scalars(select(ConfigTemplate).order_by(ConfigTemplate.vendor, ConfigTemplate.model)))


def save_template(session: Session, template: ConfigTemplate | None, *, name: str, vendor: str, model: str,
                  entries: list[tuple[str, str]]) -> ConfigTemplate | str:
    """Create or change a template; returns it, or the code "taken" when that vendor and model has one."""
    other = session.scalar(select(ConfigTemplate).where(ConfigTemplate.vendor == vendor, ConfigTemplate.model == model))
    if other is not None and (template is None or other.id != template.id):
        return "taken"
    if template is None:
        template = ConfigTemplate()
        session.add(template)
    template.name, template.vendor, template.model = name, vendor, model
    template.entries, template.updated_at = [list(e) for e in entries], utcnow()
    session.flush()
    return template


def chargers_using(session: Session, template: ConfigTemplate) -> list[int]:
    """Ids of the chargers this template applies to (the default: those no model template matches)."""
    if template.vendor or template.model:
        return list(session.scalars(select(ChargePoint.id).where(
            ChargePoint.vendor == template.vendor, ChargePoint.model == template.model)))
    pairs = {(t.vendor, t.model) for t in templates(session) if t.vendor or t.model}
    return [cp_id for cp_id, vendor, model in session.execute(
        select(ChargePoint.id, ChargePoint.vendor, ChargePoint.model)) if (vendor, model) not in pairs]
