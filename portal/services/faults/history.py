"""One row per change of a connector's status and of a charger's connection (portal/models/faults.py).

Called from the OCPP ingest functions inside the node's own transaction (the group commit writes the
rows with the rest), and from the missed-heartbeat job. A row holds from ``at`` until the next row of the
same connector (or charger), so an older report that arrives late is put in its place in time.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, select
from sqlalchemy.orm import Session, aliased

from portal.models import ChargePoint, ChargerConnectionChange, ConnectorStatusChange


def _key(status: str, error_code: str, vendor_error_code: str | None, info: str | None) -> tuple:
    return status, error_code or "NoError", (vendor_error_code or "")[:50], (info or "")[:50]


def _row_key(row: ConnectorStatusChange) -> tuple:
    return row.status, row.error_code, row.vendor_error_code, row.info


def status_changed(session: Session, cp: ChargePoint, connector_id: int, status: str, error_code: str,
                   vendor_error_code: str | None, info: str | None, at: datetime) -> None:
    """The connector's current status changed at `at`: one new row (the caller knows it changed)."""
    status, error_code, vendor, text = _key(status, error_code, vendor_error_code, info)
    session.add(ConnectorStatusChange(charge_point_id=cp.id, connector_id=connector_id, status=status,
                                      error_code=error_code[:32], vendor_error_code=vendor, info=text,
                                      at=at.replace(microsecond=0)))


def _neighbour(session: Session, cp_id: int, connector_id: int, at: datetime, before: bool):
    table = ConnectorStatusChange
    query = select(table).where(table.charge_point_id == cp_id, table.connector_id == connector_id)
    if before:
        query = query.where(table.at <= at).order_by(table.at.desc(), table.id.desc())
    else:
        query = query.where(table.at > at).order_by(table.at, table.id)
    return session.scalar(query.limit(1))


def older_status(session: Session, cp: ChargePoint, connector_id: int, status: str, error_code: str,
                 vendor_error_code: str | None, info: str | None, at: datetime) -> bool:
    """A report older than the connector's current status (queued while the charger was offline) enters
    the history at its own time, when it changes what held then; True when the history changed."""
    at = at.replace(microsecond=0)
    key = _key(status, error_code, vendor_error_code, info)
    session.flush()
    before = _neighbour(session, cp.id, connector_id, at, before=True)
    if before is not None and _row_key(before) == key:
        return False
    after = _neighbour(session, cp.id, connector_id, at, before=False)
    if after is not None and _row_key(after) == key:
        after.at = at  # the same status began earlier than we knew: still one row
        return True
    status_changed(session, cp, connector_id, *key, at)
    return True


def last_connection(session: Session, cp_id: int) -> ChargerConnectionChange | None:
    table = ChargerConnectionChange
    return session.scalar(select(table).where(table.charge_point_id == cp_id)
                          .order_by(table.at.desc(), table.id.desc()).limit(1))


def connection_changed(session: Session, cp_id: int, state: str, at: datetime, node_id: str = "") -> bool:
    """The charger's link became `state` at `at`; nothing is written when it already was."""
    last = last_connection(session, cp_id)
    if last is not None and last.state == state:
        return False
    session.add(ChargerConnectionChange(charge_point_id=cp_id, state=state, node_id=(node_id or "")[:64],
                                        at=at.replace(microsecond=0)))
    return True


def back_from_silence(session: Session) -> int:
    """Chargers the node found talking again after the missed-heartbeat job marked them offline (the
    node's last-seen write brings them online without a new connection): connected from their last message."""
    table = ChargerConnectionChange
    newest = select(table.charge_point_id, func.max(table.id).label("id")).group_by(table.charge_point_id).subquery()
    rows = session.execute(
        select(ChargePoint, table.at).join(newest, newest.c.charge_point_id == ChargePoint.id)
        .join(table, table.id == newest.c.id)
        .where(ChargePoint.online.is_(True), table.state == "offline")).all()
    for cp, offline_at in rows:
        at = max(cp.last_seen_at or offline_at, offline_at)
        connection_changed(session, cp.id, "connected", at, cp.connected_node or "")
    session.flush()
    return len(rows)


def purge(session: Session, now: datetime, days: int) -> int:
    """Forget history older than `days`, keeping the row still in force at the cut-off (uptime reads
    a window from the state that held at its start)."""
    cutoff = now - timedelta(days=days)
    removed = 0
    for table, keys in ((ConnectorStatusChange, ("charge_point_id", "connector_id")),
                        (ChargerConnectionChange, ("charge_point_id",))):
        later = aliased(table)
        newer_before_cutoff = exists().where(
            and_(*[getattr(later, k) == getattr(table, k) for k in keys]), later.at > table.at, later.at <= cutoff)
        result = session.execute(delete(table).where(table.at < cutoff, newer_before_cutoff)
                                 .execution_options(synchronize_session=False))
        removed += result.rowcount or 0
    return removed
