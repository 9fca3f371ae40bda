"""Fleet jobs on the charger queue (issue 21): configuration templates and the local authorisation list.

Each job carries its calls to the charger one at a time through the same path as worker.jobs.charger
(ocpp_server.calls: the node holding the charger, its one-call-in-flight lock, a deadline per call) and
records every answer. Safe to run twice: they read the charger before they change it."""
from __future__ import annotations

import logging
import time
from typing import Any

from portal import settings
from portal.db import Database, utcnow
from portal.models import ChargePoint
from portal.services.fleet import config_templates as templates
from portal.services.fleet import local_list
from worker.jobs.charger import CallSpec, _database, _redis, call_charger

log = logging.getLogger(__name__)
MAX_KEYS = ("LocalAuthListMaxLength", "SendLocalListMaxLength")


class Unreachable(RuntimeError):
    """The charger could not be asked (offline, not booted, no answer): nothing more is sent in this job."""


class Caller:
    """One call at a time to one charger, each with its own deadline."""

    def __init__(self, redis: Any, identity: str) -> None:
        self.redis, self.identity = redis, identity

    def __call__(self, action: str, payload: dict) -> dict:
        deadline = time.time() + float(settings.get("action_deadline_s"))
        reply = call_charger(self.redis, CallSpec(self.identity, action, payload, deadline))
        if reply.get("status") != "ok":
            raise Unreachable(f"{action}: {reply.get('status')} {reply.get('detail') or ''}".strip())
        return reply.get("response") or {}


def _open(database_url: str | None, redis_url: str | None) -> tuple[Database, Any]:
    return _database(database_url or settings.get("database_url")), _redis(redis_url or settings.get("redis_url"))


def _identity(db: Database, cp_id: int) -> tuple[str, str, str] | None:
    with db.session() as session:
        cp = session.get(ChargePoint, cp_id)
        return None if cp is None else (cp.identity, cp.vendor, cp.model)


def reported(response: dict) -> tuple[dict[str, str], set[str]]:
    """GetConfiguration's answer as key -> value, and the read-only keys."""
    values, readonly = {}, set()
    for item in response.get("configurationKey") or []:
        values[item.get("key")] = item.get("value")
        if item.get("readonly"):
            readonly.add(item.get("key"))
    return values, readonly


def apply_configuration(cp_id: int, database_url: str | None = None, redis_url: str | None = None) -> dict:
    """Read the charger's configuration, record drift, and change every key that differs from its template."""
    db, redis = _open(database_url, redis_url)
    found = _identity(db, cp_id)
    if found is None:
        return {"missing": cp_id}
    identity, vendor, model = found
    call = Caller(redis, identity)
    try:
        values, _ = reported(call("GetConfiguration", {}))
    except Unreachable as exc:
        log.info("%s: configuration not checked: %s", identity, exc)
        return {"unreachable": str(exc)}
    with db.session() as session:
        chosen = templates.template_for(session, vendor, model)
        before = templates.keys_of(session, cp_id)
        templates.forget_other_keys(session, cp_id, [k for k, _ in chosen.entries])
        _note_maximums(session, cp_id, values)
        session.commit()
    counts: dict[str, int] = {}
    for key, wanted in chosen.entries:
        status = _one_key(db, call, cp_id, key, wanted, values, before.get(key))
        counts[status] = counts.get(status, 0) + 1
        if status == "Failed":
            break
    log.info("%s: configuration template %r applied: %s", identity, chosen.name or "default", counts)
    return counts


def _one_key(db: Database, call: Caller, cp_id: int, key: str, wanted: str, values: dict, previous: Any) -> str:
    """Leave a key that is in place; otherwise record any drift, change it, and record the answer."""
    found = values.get(key)
    with db.session() as session:
        if templates.same(key, wanted, found):
            if previous is None or previous.status != "InPlace" or previous.wanted != wanted:
                keep = previous.status if previous is not None and previous.status in templates.GOOD \
                    and previous.wanted == wanted else "InPlace"
                templates.record(session, cp_id, key, wanted, keep)
            session.commit()
            return "InPlace"
        if templates.drifted(previous, wanted):
            templates.record_drift(session, cp_id, key, found)
            log.info("charger %s: %s drifted to %r (wanted %r)", cp_id, key, found, wanted)
        session.commit()
    try:
        status, detail = call("ChangeConfiguration", {"key": key, "value": wanted}).get("status", "Failed"), ""
    except Unreachable as exc:
        status, detail = "Failed", str(exc)
    with db.session() as session:
        templates.record(session, cp_id, key, wanted, status, detail)
        session.commit()
    return status


def _note_maximums(session: Any, cp_id: int, values: dict) -> None:
    state = local_list.state_of(session, cp_id)
    for key, attr in zip(MAX_KEYS, ("max_length", "send_max")):
        if str(values.get(key) or "").isdigit():
            setattr(state, attr, int(values[key]))


def sync_local_list(cp_id: int, full: bool = False, database_url: str | None = None,
                    redis_url: str | None = None) -> str:
    """Bring the charger's local list to the tags that belong on it; returns the outcome."""
    db, redis = _open(database_url, redis_url)
    found = _identity(db, cp_id)
    if found is None:
        return "missing"
    call = Caller(redis, found[0])
    try:
        version = int(call("GetLocalListVersion", {}).get("listVersion", -1))
        with db.session() as session:
            state = local_list.state_of(session, cp_id)
            state.checked_at = utcnow()
            if full or version != state.version or state.max_length is None:
                values, _ = reported(call("GetConfiguration", {"key": list(MAX_KEYS)}))
                _note_maximums(session, cp_id, values)
            if version < 0:
                local_list.failed(state, "NotSupported", "the charger keeps no local list")
                session.commit()
                return "NotSupported"
            if version != state.version and state.version > 0:
                log.info("%s: local list version %s, we sent %s: sending the full list", found[0], version,
                         state.version)
            wanted = local_list.tags_for(session, session.get(ChargePoint, cp_id))
            session.commit()
        return _send(db, call, cp_id, wanted, version, full)
    except Unreachable as exc:
        with db.session() as session:
            local_list.failed(local_list.state_of(session, cp_id), "Failed", str(exc))
            session.commit()
        return "Failed"


def _send(db: Database, call: Caller, cp_id: int, wanted: list[str], version: int, full: bool) -> str:
    """Send the parts of the plan; a VersionMismatch answer is followed once by the full list."""
    for attempt in (0, 1):
        with db.session() as session:
            state = local_list.state_of(session, cp_id)
            plan = local_list.plan(state, wanted, version, full=full or attempt == 1)
            state.left_out = plan.left_out
            session.commit()
        outcome = "Accepted"
        for part in plan.parts:
            outcome = call("SendLocalList", {"listVersion": part.version, "updateType": part.update_type,
                                             "localAuthorizationList": part.items}).get("status", "Failed")
            with db.session() as session:
                state = local_list.state_of(session, cp_id)
                if outcome == "Accepted":
                    local_list.accepted_part(state, part)
                else:
                    local_list.failed(state, outcome, f"{part.update_type} version {part.version}")
                session.commit()
            if outcome != "Accepted":
                break
        if outcome != "VersionMismatch":
            return outcome
        # The charger holds another version than it said: ask again, and send the full list above it.
        version = int(call("GetLocalListVersion", {}).get("listVersion", 0))
    return outcome


def after_boot(cp_id: int, database_url: str | None = None, redis_url: str | None = None) -> dict:
    """After an accepted boot: the configuration template, the local list (checked, and brought up to date), then
    the smart-charging floor."""
    counts = apply_configuration(cp_id, database_url, redis_url)
    if "unreachable" in counts or "missing" in counts:
        return counts
    counts = {**counts, "local_list": sync_local_list(cp_id, False, database_url, redis_url)}
    from worker.jobs import smart  # the safe floor (issue 22): capabilities, then the floor profile
    return {**counts, "floor": smart.after_boot(cp_id, database_url, redis_url)}


def check_fleet(database_url: str | None = None, redis_url: str | None = None) -> int:
    """Periodic (daily): every online charger's configuration checked for drift and its list reconciled."""
    from sqlalchemy import select

    from portal.services.fleet import queueing
    if not settings.get("fleet_sync"):
        return 0
    db, redis = _open(database_url, redis_url)
    with db.session() as session:
        ids = list(session.scalars(select(ChargePoint.id).where(ChargePoint.online.is_(True),
                                                                ChargePoint.boot_status == "Accepted")))
    for cp_id in ids:
        queueing.after_boot(redis, cp_id)
    return len(ids)


def reconcile_local_lists(database_url: str | None = None, redis_url: str | None = None) -> int:
    """Periodic safety net: a differential update for every online charger whose list differs from its tags."""
    from sqlalchemy import select

    from portal.services.fleet import queueing
    if not settings.get("fleet_sync"):
        return 0
    db, redis = _open(database_url, redis_url)
    stale = []
    with db.session() as session:
        for cp in session.scalars(select(ChargePoint).where(ChargePoint.online.is_(True),
                                                            ChargePoint.boot_status == "Accepted")):
            state = session.get(local_list.LocalListState, cp.id)
            if state is None or state.outcome != "Accepted" or state.tags != local_list.tags_for(session, cp)[
                    :state.max_length or None]:
                stale.append(cp.id)
    queueing.local_lists(redis, stale)
    return len(stale)
