"""Connection, boot, heartbeat and connector status of a charger."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from portal.db import ANNOUNCED
from portal.models import ChargePoint, Connector
from portal.services.charging import actions, after_close
from portal.services.charging import action_hooks
from portal.services.faults import history
from portal.services.ocpp_ingest.common import (
    RETRY_INTERVAL_S, BootOutcome, ConnectInfo, MessageBatch, StatusOutcome, charge_point, charger_time,
    open_transactions, seen,
)

log = logging.getLogger(__name__)


# --- connection ------------------------------------------------------------------------------

def credentials(session: Session, identity: str) -> str | None:
    """The stored secret hash of a charger, or None when the identity is unknown."""
    return session.scalar(select(ChargePoint.secret_hash).where(ChargePoint.identity == identity))


def credentials_many(session: Session, identities: list[str]) -> dict[str, str]:
    """Stored secret hashes of several chargers in one query (unknown identities are left out)."""
    return dict(session.execute(select(ChargePoint.identity, ChargePoint.secret_hash)
                                .where(ChargePoint.identity.in_(identities))).all())


def connected(session: Session, identity: str, node_id: str, now: datetime,
              batch: MessageBatch | None = None) -> ConnectInfo:
    cp = charge_point(session, identity, batch)
    cp.connected_node = node_id
    seen(cp, now)
    history.connection_changed(session, cp.id, "connected", now, node_id)
    return ConnectInfo(identity, cp.enabled, cp.relaxed_validation, cp.boot_status, cp.heartbeat_interval,
                       cp.id, open_transactions(session, cp, batch))


def disconnected(session: Session, identity: str, node_id: str, now: datetime,
                 last_seen: datetime | None = None, batch: MessageBatch | None = None) -> None:
    """The socket closed: offline, unless another node took the charger over meanwhile.

    last_seen: the charger's last message, when the node had not written it yet (see mark_seen)."""
    cp = charge_point(session, identity, batch)
    if last_seen is not None and (cp.last_seen_at is None or last_seen > cp.last_seen_at):
        cp.last_seen_at = last_seen
    if cp.connected_node not in (None, node_id):
        return
    cp.online = False
    cp.offline_since = now
    cp.connected_node = None
    history.connection_changed(session, cp.id, "disconnected", now, node_id)


def mark_seen(session: Session, node_id: str, seen_at: dict[str, datetime]) -> int:
    """Write the last-seen times a node kept in memory, in one executemany UPDATE.

    Only chargers this node still holds are touched (a disconnect, or another node's newer connection,
    wins); a charger the missed-heartbeat job marked offline comes back online."""
    table = ChargePoint.__table__
    stmt = (table.update()
            .where(table.c.identity == bindparam("b_identity"), table.c.connected_node == bindparam("b_node"))
            .values(last_seen_at=bindparam("b_at"), online=True, offline_since=None)
            .execution_options(**ANNOUNCED))  # a node's bookkeeping for chargers it holds: not announced
    result = session.execute(stmt, [{"b_identity": i, "b_node": node_id, "b_at": at} for i, at in seen_at.items()])
    return result.rowcount or 0


def node_stopped(session: Session, node_id: str, now: datetime) -> int:
    """Mark every charger this node claimed as offline (at start-up after a crash, or at shutdown)."""
    cps = session.scalars(select(ChargePoint).where(ChargePoint.connected_node == node_id)).all()
    for cp in cps:
        cp.online, cp.offline_since, cp.connected_node = False, now, None
        history.connection_changed(session, cp.id, "disconnected", now, node_id)
    session.flush()
    return len(cps)


def missed_heartbeats(session: Session, now: datetime, factor: float = 2.0, min_grace_s: float = 60) -> list[str]:
    """Mark offline every online charger silent for longer than factor x its heartbeat interval."""
    marked = []
    for cp in session.scalars(select(ChargePoint).where(ChargePoint.online.is_(True))):
        grace = max(cp.heartbeat_interval * factor, min_grace_s)
        if cp.last_seen_at is None or (now - cp.last_seen_at).total_seconds() > grace:
            cp.online, cp.offline_since = False, now
            silent_from = (cp.last_seen_at or now) + timedelta(seconds=cp.heartbeat_interval)
            history.connection_changed(session, cp.id, "offline", min(silent_from, now), cp.connected_node or "")
            marked.append(cp.identity)
    session.flush()
    if marked:
        log.info("marked offline after missed heartbeats: %s", ", ".join(marked[:20]))
    return marked


# --- charger-initiated messages --------------------------------------------------------------

def boot(session: Session, identity: str, *, vendor: str, model: str, serial: str | None,
         firmware: str | None, now: datetime, batch: MessageBatch | None = None) -> BootOutcome:
    cp = charge_point(session, identity, batch)
    seen(cp, now)
    cp.vendor, cp.model = vendor[:50], model[:50]
    cp.serial_number = (serial or cp.serial_number or "")[:50]
    cp.firmware_version = (firmware or "")[:50]
    cp.booted_at = now
    status = boot_decision(cp)
    cp.boot_status = status
    interval = cp.heartbeat_interval if status == "Accepted" else RETRY_INTERVAL_S
    return BootOutcome(status, interval, cp.enabled)


def boot_decision(cp: ChargePoint) -> str:
    """Accepted, unless we no longer operate the site (agreement ended): then Rejected."""
    if cp.site is not None and cp.site.agreement_status == "ended":
        return "Rejected"
    return "Accepted"


def heartbeat(session: Session, identity: str, now: datetime, batch: MessageBatch | None = None) -> None:
    seen(charge_point(session, identity, batch), now)
    session.flush()


def _older(at: datetime, *known: datetime | None) -> bool:
    """Is a report at `at` older than the newest known one (compared in whole seconds)?"""
    newest = max((t for t in known if t is not None), default=None)
    return newest is not None and at.replace(microsecond=0) < newest.replace(microsecond=0)


def _unchanged(conn: Connector, status: str, error_code: str, info: str | None, vendor_error_code: str | None) -> bool:
    return (conn.status, conn.error_code, conn.info, conn.vendor_error_code) == (
        status, error_code, (info or "")[:50], (vendor_error_code or "")[:50])


def status_notification(session: Session, identity: str, *, connector_id: int, status: str,
                        error_code: str, info: str | None, vendor_error_code: str | None,
                        timestamp: datetime | None, now: datetime,
                        newest_seen: datetime | None = None, batch: MessageBatch | None = None) -> StatusOutcome:
    """Store a connector's status; an older report (queued while offline) never overwrites a newer one.

    A report that changes nothing (same status, error code and texts) writes nothing; the connection
    remembers its time instead (newest_seen: the newest report time this connection has seen for the
    connector, returned as outcome.at), so an older report that follows is still recognised as older.
    The charger's last-seen time is the node's business (ocpp_server.seen), not written per message."""
    cp = charge_point(session, identity, batch)
    conn = cp.connector(connector_id)
    if conn is None:
        conn = Connector(connector_id=connector_id)
        cp.connectors.append(conn)
    # Ordered by the charger's time, but never later than when it reached us (a clock running
    # ahead cannot hide the statuses that follow), and in whole seconds (many chargers send no
    # fractions): within one second the later arrival wins.
    at = min(charger_time(cp, timestamp, now).at, now) if timestamp is not None else now
    if _older(at, conn.status_at, newest_seen):
        log.info("%s connector %s: older status %s (%s) kept out of the current state",
                 identity, connector_id, status, at.isoformat())
        history.older_status(session, cp, connector_id, status, error_code, vendor_error_code, info, at)
        return StatusOutcome(cp.enabled, None)
    if conn.status_at is not None and _unchanged(conn, status, error_code, info, vendor_error_code):
        # e.g. Preparing again after a reboot may still autostart
        return StatusOutcome(cp.enabled, action_hooks.on_connector_status(session, cp, connector_id, status), at)
    conn.status, conn.error_code, conn.status_at = status, error_code, at
    history.status_changed(session, cp, connector_id, status, error_code, vendor_error_code, info, at)
    if status in after_close.CHARGING_STATUSES and connector_id >= 1 and not any(
            c == connector_id for c, _tx in open_transactions(session, cp, batch)):
        after_close.charging_status(session, cp, connector_id, now)  # a session closed by hand goes on
    conn.info, conn.vendor_error_code = (info or "")[:50], (vendor_error_code or "")[:50]
    return StatusOutcome(cp.enabled, action_hooks.on_connector_status(session, cp, connector_id, status), at)
