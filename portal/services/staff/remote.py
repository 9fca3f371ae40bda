"""Remote actions from the staff console: each one a charger request with a reason and an audit entry.

Support staff (and admins) only. The request row and the audit entry are flushed here; the view commits
and then enqueues (portal.services.charging.action_queue.enqueue_action). An offline charger is not refused here: the
worker records 'charger_offline' and the page offers a retry, so the attempt is on record.

Rotating the charger's secret (ChangeConfiguration AuthorizationKey): the new secret's hash waits on the
request row (`pending_secret_hash`); the clear secret is handed to the worker through a short-lived Redis
key, never a table or a log, and the stored payload says "***". Only when the charger answers Accepted is
the hash moved to the charger's record (`apply_outcome`, called by the worker).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import ActionRequest, ChargePoint, IdTag, Transaction, User
from portal.services.charging import actions
from portal.services.sites import audit
from portal.services.charging import action_queue
from portal.services.sites.onboarding import virtual_tag
from portal.services.people.secrets import (
    REDACTED, SECRET_CONFIG_KEY, charger_secret_problem, hash_charger_secret, is_secret_key, new_charger_secret,
)
from portal.services.staff.roles import require

SECRET_KEY_NAME = SECRET_CONFIG_KEY
TRIGGER_MESSAGES = ("StatusNotification", "MeterValues", "BootNotification", "Heartbeat")
RESET_TYPES = ("Soft", "Hard")


class RemoteRefused(Exception):
    """The action cannot be asked for; `code` names why (the page says it in plain words)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Requested:
    row: ActionRequest
    secret: str | None = None  # only for a key rotation: hand it to the worker with stash_secret


def _record(session: Session, staff: User, cp: ChargePoint, row: ActionRequest, reason: str) -> None:
    row.reason = reason
    audit.record(session, staff, cp.site_id, "charge_point", cp.id, f"remote:{row.action}",
                 after={"identity": cp.identity, "action_request": row.id, "payload": row.payload},
                 area="staff", reason=reason)


def _create(session: Session, staff: User, cp: ChargePoint, action: str, payload: dict, reason: str,
            connector_id: int | None = None) -> ActionRequest:
    require(staff, "support")
    reason = (reason or "").strip()
    if not reason:
        raise RemoteRefused("reason_required")
    try:
        row = actions.request_action(session, staff, cp, action, payload, connector_id=connector_id)
    except actions.ActionRefused as exc:
        raise RemoteRefused(exc.reason) from exc
    _record(session, staff, cp, row, reason)
    return row


def _connector(cp: ChargePoint, connector_id: int | None, allow_zero: bool = False) -> int:
    valid = {c.connector_id for c in cp.outlets} | ({0} if allow_zero else set())
    if connector_id not in valid:
        raise RemoteRefused("bad_connector")
    return int(connector_id)


def resident_tag(session: Session, who: str) -> str:
    """A resident's virtual tag by e-mail, or an RFID tag as typed; RemoteRefused when unknown/blocked."""
    who = (who or "").strip()
    if "@" in who:
        user = session.scalar(select(User).where(func.lower(User.email) == who.lower()))
        if user is None:
            raise RemoteRefused("unknown_resident")
        return virtual_tag(session, user).tag
    tag = session.scalar(select(IdTag).where(IdTag.tag == who))
    if tag is None:
        raise RemoteRefused("unknown_tag")
    if tag.blocked:
        raise RemoteRefused("blocked_tag")
    return tag.tag


def start(session: Session, staff: User, cp: ChargePoint, connector_id: int | None, who: str,
          reason: str) -> ActionRequest:
    """RemoteStartTransaction with the resident's own tag, on their behalf."""
    require(staff, "support")
    connector = _connector(cp, connector_id)
    tag = resident_tag(session, who)
    return _create(session, staff, cp, actions.START, {"connectorId": connector, "idTag": tag}, reason, connector)


def stop(session: Session, staff: User, tx: Transaction, reason: str) -> ActionRequest:
    require(staff, "support")
    if not tx.is_active:
        raise RemoteRefused("not_active")
    row = _create(session, staff, tx.charge_point, actions.STOP, {"transactionId": tx.id}, reason, tx.connector_id)
    row.transaction_id = tx.id
    return row


def reset(session: Session, staff: User, cp: ChargePoint, kind: str, reason: str) -> ActionRequest:
    if kind not in RESET_TYPES:
        raise RemoteRefused("bad_choice")
    return _create(session, staff, cp, "Reset", {"type": kind}, reason)


def unlock(session: Session, staff: User, cp: ChargePoint, connector_id: int | None, reason: str) -> ActionRequest:
    connector = _connector(cp, connector_id)
    return _create(session, staff, cp, "UnlockConnector", {"connectorId": connector}, reason, connector)


def trigger(session: Session, staff: User, cp: ChargePoint, message: str, connector_id: int | None,
            reason: str) -> ActionRequest:
    """TriggerMessage; the node sends it even to a charger whose boot is not accepted (to ask for one)."""
    if message not in TRIGGER_MESSAGES:
        raise RemoteRefused("bad_choice")
    payload: dict[str, Any] = {"requestedMessage": message}
    if connector_id:
        payload["connectorId"] = _connector(cp, connector_id)
    return _create(session, staff, cp, "TriggerMessage", payload, reason, connector_id or None)


def get_configuration(session: Session, staff: User, cp: ChargePoint, keys: list[str], reason: str) -> ActionRequest:
    payload = {"key": keys} if keys else {}
    return _create(session, staff, cp, "GetConfiguration", payload, reason)


def change_configuration(session: Session, staff: User, cp: ChargePoint, key: str, value: str | None,
                         reason: str) -> Requested:
    """ChangeConfiguration; the AuthorizationKey (in any case or spacing) is a secret rotation (see the
    module docstring): value None makes a new secret, a typed one must be strong (charger_secret_problem)."""
    key = (key or "").strip()
    if is_secret_key(key):
        return _rotate(session, staff, cp, value, reason)
    value = value or ""
    if not key or len(key) > 50 or len(value) > 500:
        raise RemoteRefused("bad_config")
    return Requested(_create(session, staff, cp, "ChangeConfiguration", {"key": key, "value": value}, reason))


def _rotate(session: Session, staff: User, cp: ChargePoint, value: str | None, reason: str) -> Requested:
    if value is None:
        value = new_charger_secret()
    elif charger_secret_problem(value) is not None:
        raise RemoteRefused("bad_secret")
    row = _create(session, staff, cp, "ChangeConfiguration", {"key": SECRET_KEY_NAME, "value": REDACTED}, reason)
    row.pending_secret_hash = hash_charger_secret(value)
    session.flush()
    return Requested(row, secret=value)


def availability(session: Session, staff: User, cp: ChargePoint, operative: bool, reason: str) -> ActionRequest:
    """Enable or disable the charger: stored on its record and sent as ChangeAvailability."""
    require(staff, "support")
    before = {"enabled": cp.enabled}
    cp.enabled = operative
    row = _create(session, staff, cp, actions.AVAILABILITY,
                  {"connectorId": 0, "type": "Operative" if operative else "Inoperative"}, reason, 0)
    audit.record(session, staff, cp.site_id, "charge_point", cp.id, "enabled" if operative else "disabled",
                 before=before, after={"enabled": cp.enabled}, area="staff", reason=reason)
    return row


def retry(session: Session, staff: User, old: ActionRequest, reason: str | None = None) -> ActionRequest:
    """A final request asked again as a new one (same action and payload); a key rotation needs a new secret."""
    require(staff, "support")
    if not old.is_final:
        raise RemoteRefused("still_pending")
    payload = old.payload or {}
    if old.pending_secret_hash is not None or payload.get("value") == REDACTED or is_secret_key(payload.get("key")):
        raise RemoteRefused("secret_retry")
    cp = old.charge_point
    row = _create(session, staff, cp, old.action, dict(old.payload or {}), reason or old.reason or "retry",
                  old.connector_id)
    row.transaction_id = old.transaction_id if old.action == actions.STOP else None
    return row
