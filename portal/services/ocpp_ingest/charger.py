"""Connection, boot, heartbeat and connector status of a charger."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import ChargePoint, Connector
from portal.services.ocpp_ingest.common import (
    RETRY_INTERVAL_S, BootOutcome, ConnectInfo, StatusOutcome, actions_hook, charge_point, charger_time, seen,
)

log = logging.getLogger(__name__)


# --- connection ------------------------------------------------------------------------------

def credentials(session: Session, identity: str) -> str | None:
    """The stored secret hash of a charger, or None when the identity is unknown."""
    return session.scalar(select(ChargePoint.secret_hash).where(ChargePoint.identity == identity))


def connected(session: Session, identity: str, node_id: str, now: datetime) -> ConnectInfo:
    cp = charge_point(session, identity)
    cp.connected_node = node_id
    seen(cp, now)
    session.flush()
    return ConnectInfo(identity, cp.enabled, cp.relaxed_validation, cp.boot_status, cp.heartbeat_interval)


def disconnected(session: Session, identity: str, node_id: str, now: datetime) -> None:
    """The socket closed: offline, unless another node took the charger over meanwhile."""
    cp = charge_point(session, identity)
    if cp.connected_node not in (None, node_id):
        return
    cp.online = False
    cp.offline_since = now
    cp.connected_node = None
    session.flush()


def node_stopped(session: Session, node_id: str, now: datetime) -> int:
    """Mark every charger this node claimed as offline (at start-up after a crash, or at shutdown)."""
    cps = session.scalars(select(ChargePoint).where(ChargePoint.connected_node == node_id)).all()
    for cp in cps:
        cp.online, cp.offline_since, cp.connected_node = False, now, None
    session.flush()
    return len(cps)


def missed_heartbeats(session: Session, now: datetime, factor: float = 2.0, min_grace_s: float = 60) -> list[str]:
    """Mark offline every online charger silent for longer than factor x its heartbeat interval."""
    marked = []
    for cp in session.scalars(select(ChargePoint).where(ChargePoint.online.is_(True))):
        grace = max(cp.heartbeat_interval * factor, min_grace_s)
        if cp.last_seen_at is None or (now - cp.last_seen_at).total_seconds() > grace:
            cp.online, cp.offline_since = False, now
            marked.append(cp.identity)
    session.flush()
    if marked:
        log.info("marked offline after missed heartbeats: %s", ", ".join(marked[:20]))
    return marked


# --- charger-initiated messages --------------------------------------------------------------

def boot(session: Session, identity: str, *, vendor: str, model: str, serial: str | None,
         firmware: str | None, now: datetime) -> BootOutcome:
    cp = charge_point(session, identity)
    seen(cp, now)
    cp.vendor, cp.model = vendor[:50], model[:50]
    cp.serial_number = (serial or cp.serial_number or "")[:50]
    cp.firmware_version = (firmware or "")[:50]
    cp.booted_at = now
    status = boot_decision(cp)
    cp.boot_status = status
    session.flush()
    interval = cp.heartbeat_interval if status == "Accepted" else RETRY_INTERVAL_S
    return BootOutcome(status, interval, cp.enabled)


def boot_decision(cp: ChargePoint) -> str:
    """Accepted, unless we no longer operate the site (agreement ended): then Rejected."""
    if cp.site is not None and cp.site.agreement_status == "ended":
        return "Rejected"
    return "Accepted"


def heartbeat(session: Session, identity: str, now: datetime) -> None:
    seen(charge_point(session, identity), now)
    session.flush()


def status_notification(session: Session, identity: str, *, connector_id: int, status: str,
                        error_code: str, info: str | None, vendor_error_code: str | None,
                        timestamp: datetime | None, now: datetime) -> StatusOutcome:
    """Store a connector's status; an older report (queued while offline) never overwrites a newer one."""
    cp = charge_point(session, identity)
    seen(cp, now)
    conn = cp.connector(connector_id)
    if conn is None:
        conn = Connector(connector_id=connector_id)
        cp.connectors.append(conn)
    # Ordered by the charger's time, but never later than when it reached us (a clock running
    # ahead cannot hide the statuses that follow), and in whole seconds (many chargers send no
    # fractions): within one second the later arrival wins.
    at = min(charger_time(cp, timestamp, now).at, now) if timestamp is not None else now
    if conn.status_at is not None and at.replace(microsecond=0) < conn.status_at.replace(microsecond=0):
        log.info("%s connector %s: older status %s (%s) kept out of the current state",
                 identity, connector_id, status, at.isoformat())
        session.flush()
        return StatusOutcome(cp.enabled, None)
    conn.status, conn.error_code, conn.status_at = status, error_code, at
    conn.info, conn.vendor_error_code = (info or "")[:50], (vendor_error_code or "")[:50]
    session.flush()
    hook = actions_hook("on_connector_status")
    return StatusOutcome(cp.enabled, hook(session, cp, connector_id, status) if hook else None)
