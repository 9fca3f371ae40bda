"""Rotating a charger's secret (ChangeConfiguration AuthorizationKey) without ever storing it in clear.

The staff request (portal.services.staff.remote.change_configuration) keeps "***" as the value and the new
secret's hash in `ActionRequest.pending_secret_hash`. The clear secret travels to the worker through a Redis
key that expires with the request and is deleted as it is read. After the charger's answer:

- Accepted: the hash moves to the charger's record (`apply_outcome`).
- Rejected, charger offline, or never sent: the pending hash is dropped; the old secret stays.
- No answer known (timed out or the connection dropped after sending): the charger may or may not have
  taken the new key. The pending hash is kept for UNCONFIRMED_DAYS; if the charger then connects with it,
  `promote_unconfirmed` (called by the OCPP server when the stored secret does not match) moves it to the
  record, so a lost answer never locks a charger out.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import ActionRequest, ChargePoint
from portal.services.sites import audit
from portal.services.people.secrets import verify_secret

SECRET_PREFIX = "action-secret:"
UNKNOWN_OUTCOME = ("timed_out", "failed")
UNCONFIRMED_DAYS = 7


def stash_secret(redis: Any, action_id: int, secret: str, ttl_s: int) -> None:
    """Hand the clear secret to the worker for this request only (expires with the request)."""
    redis.set(f"{SECRET_PREFIX}{action_id}", secret, ex=max(int(ttl_s), 1))


def take_secret(redis: Any, action_id: int) -> str | None:
    """The stashed secret, removed as it is read (GETDEL): it is sent at most once."""
    value = redis.getdel(f"{SECRET_PREFIX}{action_id}")
    return value.decode() if isinstance(value, bytes) else value


def apply_outcome(session: Session, action_id: int, *, maybe_delivered: bool = True) -> bool:
    """After a final answer: an accepted rotation moves the new hash to the charger. True when it did."""
    row = session.get(ActionRequest, action_id)
    if row is None or row.pending_secret_hash is None or not row.is_final:
        return False
    if row.state == "accepted":
        row.charge_point.secret_hash = row.pending_secret_hash
        row.pending_secret_hash = None
        session.flush()
        return True
    if not (maybe_delivered and row.state in UNKNOWN_OUTCOME and row.sent_at is not None):
        row.pending_secret_hash = None
    session.flush()
    return False


def pending_hashes_many(session: Session, identities: list[str]) -> dict[str, list[str]]:
    """The hashes of rotations whose answer was lost, per identity (one query for a batch of handshakes)."""
    rows = session.execute(
        select(ChargePoint.identity, ActionRequest.pending_secret_hash)
        .join(ActionRequest, ActionRequest.charge_point_id == ChargePoint.id)
        .where(ChargePoint.identity.in_(identities), ActionRequest.pending_secret_hash.is_not(None),
               ActionRequest.state.in_(UNKNOWN_OUTCOME),
               ActionRequest.created_at > utcnow() - timedelta(days=UNCONFIRMED_DAYS))
        .order_by(ActionRequest.id.desc()))
    found: dict[str, list[str]] = {}
    for identity, pending in rows:
        found.setdefault(identity, []).append(pending)
    return found


def promote_unconfirmed(session: Session, identity: str, password: str) -> bool:
    """A charger presents the secret of a rotation whose answer was lost: make it the charger's secret."""
    cp = session.scalar(select(ChargePoint).where(ChargePoint.identity == identity))
    if cp is None or not password:
        return False
    rows = list(session.scalars(select(ActionRequest).where(
        ActionRequest.charge_point_id == cp.id, ActionRequest.pending_secret_hash.is_not(None),
        ActionRequest.state.in_(UNKNOWN_OUTCOME),
        ActionRequest.created_at > utcnow() - timedelta(days=UNCONFIRMED_DAYS)).order_by(ActionRequest.id.desc())))
    match = next((r for r in rows if verify_secret(r.pending_secret_hash, password)), None)
    if match is None:
        return False
    cp.secret_hash = match.pending_secret_hash
    for row in rows:
        row.pending_secret_hash = None
    audit.record(session, None, cp.site_id, "charge_point", cp.id, "secret_confirmed_by_charger",
                 after={"action_request": match.id}, area="staff",
                 reason="the charger connected with the new secret after its answer was lost")
    session.flush()
    return True
