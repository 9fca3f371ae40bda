"""The waiting list: recording refused handshakes (for the node, in batches) and reading it (for staff).

The node adds up attempts per identity in memory (ocpp_server/waiting.py) and hands a batch here every
OCPP_WAITING_FLUSH_S. One row per identity: an attempt updates the counters of its row; a new row is
made only while the table holds fewer than OCPP_WAITING_MAX_ROWS, and never for an attempt from an
address or identity the node already found suspect (the failure counters in Redis), so a stranger
trying random identities adds at most OCPP_AUTH_MAX_FAILURES rows per window and address.
Whether the identity is known (wrong password) or not is looked up here, off the handshake, so the
handshake costs the same either way.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from portal.db import utcnow
from portal.models import ChargePoint, WaitingCharger


@dataclass
class Attempt:
    """The refused handshakes of one identity since the last batch (the latest one's details)."""

    identity: str
    remote_address: str
    password_given: bool
    user_agent: str
    subprotocols: str
    last_at: datetime
    count: int = 1
    may_create: bool = True  # False once the address or identity was suspect: count, never add a row


def _reason(attempt: Attempt, known: bool) -> str:
    if not known:
        return "unknown_identity"
    return "wrong_password" if attempt.password_given else "no_password"


def record_attempts(session: Session, attempts: list[Attempt], max_rows: int, keep_days: int = 30) -> int:
    """Upsert the batch; returns the rows added. Unclaimed rows not seen for keep_days leave first."""
    if not attempts:
        return 0
    session.execute(delete(WaitingCharger).where(
        WaitingCharger.claimed_at.is_(None), WaitingCharger.last_seen_at < utcnow() - timedelta(days=keep_days)))
    names = [a.identity for a in attempts]
    rows = {w.identity: w for w in session.scalars(select(WaitingCharger).where(WaitingCharger.identity.in_(names)))}
    known = {identity: cp_id for identity, cp_id in session.execute(
        select(ChargePoint.identity, ChargePoint.id).where(ChargePoint.identity.in_(names)))}
    room = max_rows - (session.scalar(select(func.count()).select_from(WaitingCharger)) or 0)
    added = 0
    for attempt in attempts:
        row = rows.get(attempt.identity)
        if row is None:
            if room <= 0 or not attempt.may_create:
                continue
            row = WaitingCharger(identity=attempt.identity, attempts=0, first_seen_at=attempt.last_at)
            session.add(row)
            room, added = room - 1, added + 1
        _update(row, attempt, known.get(attempt.identity))
    session.flush()
    return added


def _update(row: WaitingCharger, attempt: Attempt, charge_point_id: int | None) -> None:
    row.attempts = (row.attempts or 0) + attempt.count
    row.last_seen_at = attempt.last_at
    row.remote_address = attempt.remote_address[:64]
    row.user_agent = attempt.user_agent[:200]
    row.subprotocols = attempt.subprotocols[:100]
    if row.claimed_at is None:  # a claimed row keeps what it was claimed as; it only counts on
        row.reason = _reason(attempt, charge_point_id is not None)
        row.charge_point_id = charge_point_id


def waiting(session: Session, limit: int = 200) -> list[WaitingCharger]:
    """Unclaimed rows, the most recently seen first."""
    return list(session.scalars(select(WaitingCharger).where(WaitingCharger.claimed_at.is_(None))
                                .options(selectinload(WaitingCharger.charge_point)).order_by(WaitingCharger.last_seen_at.desc()).limit(limit)))


def claimed_lately(session: Session, days: int = 7, limit: int = 50) -> list[WaitingCharger]:
    """Rows claimed in the last days, newest first: did the charger come in since?"""
    return list(session.scalars(select(WaitingCharger).where(WaitingCharger.claimed_at > utcnow() - timedelta(days=days))
                                .options(selectinload(WaitingCharger.charge_point), selectinload(WaitingCharger.claimed_by))
                                .order_by(WaitingCharger.claimed_at.desc()).limit(limit)))


def entry(session: Session, identity: str) -> WaitingCharger | None:
    return session.scalar(select(WaitingCharger).where(WaitingCharger.identity == identity))
