"""What a charger tells the central system, persisted: one function per OCPP 1.6 message.

Flask-free; every function takes a Session and never commits: the node's group commit
(ocpp_server.writer) runs many messages in one transaction and commits once. The functions on the
hot path (connect, boot, status, meter values) do not flush either: the COMMIT flushes all of a batch
together, so the unit of work sends one executemany per kind of change instead of a round trip per
message. Times are aware UTC datetimes parsed by the caller.
"""
from __future__ import annotations

import hashlib
import importlib
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from sqlalchemy import bindparam, event, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from portal.models import ChargePoint, Connector, IdTag, MeterValue, OrphanStop, Transaction
from portal.services import access
from portal.services.metering import ENERGY_REGISTER, register_readings, session_energy, to_wh, transaction_cost

log = logging.getLogger(__name__)

# access.REASONS -> OCPP idTagInfo.status
TAG_STATUS = {"ok": "Accepted", "blocked_tag": "Blocked"}
RETRY_INTERVAL_S = 60  # Pending/Rejected chargers retry their boot after this long


class UnknownChargePoint(LookupError):
    """The identity is not registered (it should have been refused at the door)."""


@dataclass(frozen=True)
class ConnectInfo:
    identity: str
    enabled: bool
    relaxed_validation: bool
    boot_status: str | None
    heartbeat_interval: int
    charge_point_id: int = 0
    open_transactions: tuple[tuple[int, int], ...] = ()  # (connector id, transaction id) still active


@dataclass(frozen=True)
class BootOutcome:
    status: str  # Accepted | Pending | Rejected
    interval: int
    enabled: bool


@dataclass(frozen=True)
class StatusOutcome:
    enabled: bool
    jobs: Any  # what portal.services.actions.on_connector_status returned, to enqueue after commit


@dataclass(frozen=True)
class StartOutcome:
    transaction_id: int
    status: str  # idTagInfo.status
    duplicate: bool


def parse_time(text: str) -> datetime:
    """An OCPP dateTime as aware UTC; a missing offset is read as UTC. Raises ValueError."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def format_time(moment: datetime) -> str:
    """UTC with an explicit offset, as sent to chargers."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


PREFETCHED = "ocpp_prefetched_charge_points"
PREFETCHED_OPEN = "ocpp_prefetched_open_transactions"


def charge_point(session: Session, identity: str) -> ChargePoint:
    cp = session.info.get(PREFETCHED, {}).get(identity)
    if cp is None:
        cp = session.scalar(select(ChargePoint).where(ChargePoint.identity == identity))
    if cp is None:
        raise UnknownChargePoint(identity)
    return cp


def prefetch(session: Session, identities: set[str]) -> None:
    """Load the charge points (with site and connectors) a group commit's messages are about, in two queries
    for the whole batch instead of two or three per message; charge_point() then finds them here."""
    if not identities:
        return
    cps = session.scalars(select(ChargePoint).where(ChargePoint.identity.in_(identities))
                          .options(joinedload(ChargePoint.site), selectinload(ChargePoint.connectors))).all()
    session.info.setdefault(PREFETCHED, {}).update({cp.identity: cp for cp in cps})
    open_txs = session.info.setdefault(PREFETCHED_OPEN, {})
    for cp in cps:
        open_txs.setdefault(cp.id, [])
    if cps:
        for cp_id, connector, tx_id in session.execute(
                select(Transaction.charge_point_id, Transaction.connector_id, Transaction.id)
                .where(Transaction.charge_point_id.in_([cp.id for cp in cps]), Transaction.status == "active")
                .order_by(Transaction.started_at)):
            open_txs[cp_id].append((connector, tx_id))


def _open_transactions(session: Session, cp: ChargePoint) -> tuple[tuple[int, int], ...]:
    """(connector id, transaction id) of the charge point's active transactions, oldest first."""
    known = session.info.get(PREFETCHED_OPEN, {}).get(cp.id)
    if known is not None:
        return tuple(known)
    return tuple((c, t) for c, t in session.execute(select(Transaction.connector_id, Transaction.id).where(
        Transaction.charge_point_id == cp.id, Transaction.status == "active").order_by(Transaction.started_at)))


def _seen(cp: ChargePoint, now: datetime) -> None:
    cp.last_seen_at = now
    if not cp.online:
        cp.online = True
        cp.offline_since = None


def actions_hook(name: str) -> Callable[..., Any] | None:
    """A function of portal.services.actions if that module provides it (it is optional)."""
    try:
        module = importlib.import_module("portal.services.actions")
    except ImportError:
        return None
    return getattr(module, name, None)


# --- connection ------------------------------------------------------------------------------

def credentials(session: Session, identity: str) -> str | None:
    """The stored secret hash of a charger, or None when the identity is unknown."""
    return session.scalar(select(ChargePoint.secret_hash).where(ChargePoint.identity == identity))


def credentials_many(session: Session, identities: list[str]) -> dict[str, str]:
    """Stored secret hashes of several chargers in one query (unknown identities are left out)."""
    return dict(session.execute(select(ChargePoint.identity, ChargePoint.secret_hash)
                                .where(ChargePoint.identity.in_(identities))).all())


def connected(session: Session, identity: str, node_id: str, now: datetime) -> ConnectInfo:
    cp = charge_point(session, identity)
    cp.connected_node = node_id
    _seen(cp, now)
    return ConnectInfo(identity, cp.enabled, cp.relaxed_validation, cp.boot_status, cp.heartbeat_interval,
                       cp.id, _open_transactions(session, cp))


def disconnected(session: Session, identity: str, node_id: str, now: datetime,
                 last_seen: datetime | None = None) -> None:
    """The socket closed: offline, unless another node took the charger over meanwhile.

    last_seen: the charger's last message, when the node had not written it yet (see mark_seen)."""
    cp = charge_point(session, identity)
    if last_seen is not None and (cp.last_seen_at is None or last_seen > cp.last_seen_at):
        cp.last_seen_at = last_seen
    if cp.connected_node not in (None, node_id):
        return
    cp.online = False
    cp.offline_since = now
    cp.connected_node = None


def mark_seen(session: Session, node_id: str, seen: dict[str, datetime]) -> int:
    """Write the last-seen times a node kept in memory, in one executemany UPDATE.

    Only chargers this node still holds are touched (a disconnect, or another node's newer connection,
    wins); a charger the missed-heartbeat job marked offline comes back online."""
    table = ChargePoint.__table__
    stmt = (table.update()
            .where(table.c.identity == bindparam("b_identity"), table.c.connected_node == bindparam("b_node"))
            .values(last_seen_at=bindparam("b_at"), online=True, offline_since=None))
    result = session.execute(stmt, [{"b_identity": i, "b_node": node_id, "b_at": at} for i, at in seen.items()])
    return result.rowcount or 0


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
    _seen(cp, now)
    cp.vendor, cp.model = vendor[:50], model[:50]
    cp.serial_number = (serial or cp.serial_number or "")[:50]
    cp.firmware_version = (firmware or "")[:50]
    status = boot_decision(cp)
    cp.boot_status = status
    interval = cp.heartbeat_interval if status == "Accepted" else RETRY_INTERVAL_S
    return BootOutcome(status, interval, cp.enabled)


def boot_decision(cp: ChargePoint) -> str:
    """Accepted, unless we no longer operate the site (agreement ended): then Rejected."""
    if cp.site is not None and cp.site.agreement_status == "ended":
        return "Rejected"
    return "Accepted"


def heartbeat(session: Session, identity: str, now: datetime) -> None:
    _seen(charge_point(session, identity), now)
    session.flush()


def status_notification(session: Session, identity: str, *, connector_id: int, status: str,
                        error_code: str, info: str | None, vendor_error_code: str | None,
                        timestamp: datetime | None, now: datetime,
                        newest_seen: datetime | None = None) -> StatusOutcome:
    """Store a connector's status; an older report (queued while offline) never overwrites a newer one.

    A report that changes nothing (same status, error code and texts) writes nothing; the connection
    remembers its time instead (newest_seen: the newest report time this connection has seen for the
    connector), so an older report that follows on the same connection is still recognised as older.
    The charger's last-seen time is the node's business (ocpp_server.seen), not written per message."""
    cp = charge_point(session, identity)
    conn = cp.connector(connector_id)
    if conn is None:
        conn = Connector(connector_id=connector_id)
        cp.connectors.append(conn)
    at = timestamp or now
    newest = max((t for t in (conn.status_at, newest_seen) if t is not None), default=None)
    if newest is not None and at < newest:
        log.info("%s connector %s: older status %s (%s) kept out of the current state",
                 identity, connector_id, status, at.isoformat())
        return StatusOutcome(cp.enabled, None)
    if conn.status_at is not None and (conn.status, conn.error_code, conn.info, conn.vendor_error_code) == (
            status, error_code, (info or "")[:50], (vendor_error_code or "")[:50]):
        hook = actions_hook("on_connector_status")  # e.g. Preparing again after a reboot may still autostart
        return StatusOutcome(cp.enabled, hook(session, cp, connector_id, status) if hook else None)
    conn.status, conn.error_code, conn.status_at = status, error_code, at
    conn.info, conn.vendor_error_code = (info or "")[:50], (vendor_error_code or "")[:50]
    hook = actions_hook("on_connector_status")
    return StatusOutcome(cp.enabled, hook(session, cp, connector_id, status) if hook else None)


def authorize(session: Session, identity: str, id_tag: str, now: datetime) -> str:
    """idTagInfo.status for this tag at this charge point (site access, owner, tariff)."""
    cp = charge_point(session, identity)
    return tag_status(session, cp, id_tag)


def tag_status(session: Session, cp: ChargePoint, id_tag: str) -> str:
    decision = access.tag_decision(session, id_tag, cp)
    if not decision.allowed:
        log.info("%s: id tag refused (%s)", cp.identity, decision.reason)
    return TAG_STATUS.get(decision.reason, "Invalid")


def start_key(identity: str, connector_id: int, id_tag: str, meter_start: int, timestamp: datetime) -> str:
    raw = f"start|{identity}|{connector_id}|{id_tag}|{meter_start}|{format_time(timestamp)}"
    return hashlib.sha256(raw.encode()).hexdigest()


def stop_key(identity: str, transaction_id: int, meter_stop: int, timestamp: datetime) -> str:
    raw = f"stop|{identity}|{transaction_id}|{meter_stop}|{format_time(timestamp)}"
    return hashlib.sha256(raw.encode()).hexdigest()


def start_transaction(session: Session, identity: str, *, connector_id: int, id_tag: str,
                      meter_start: int, timestamp: datetime, now: datetime) -> StartOutcome:
    """Allocate the transaction id; a retried (identical) start gets the same id and is billed once.

    A refused tag still gets a transaction id (the charger needs one to report its stop); the
    row is closed at once, flagged, and never billed.
    """
    cp = charge_point(session, identity)
    _seen(cp, now)
    key = start_key(identity, connector_id, id_tag, meter_start, timestamp)
    existing = session.scalar(select(Transaction).where(Transaction.start_key == key))
    if existing is not None:
        return StartOutcome(existing.id, _start_status(existing), True)
    decision = access.tag_decision(session, id_tag, cp)
    tx = Transaction(
        charge_point_id=cp.id, connector_id=connector_id, id_tag=id_tag, start_key=key,
        meter_start_wh=meter_start, started_at=timestamp, status="active",
    )
    tag = session.scalar(select(IdTag).where(IdTag.tag == id_tag))
    tx.user_id = tag.user_id if tag else None
    if meter_start <= 0:
        tx.meter_flag = f"meter start {meter_start} Wh"
    _snapshot_price(tx, cp, decision.tariff_choice)
    _close_abandoned(session, cp, connector_id, timestamp)
    if not decision.allowed:
        tx.status, tx.stopped_at, tx.stop_reason = "completed", timestamp, "DeAuthorized"
        tx.cost_minor, tx.vat_minor = 0, 0
        tx.meter_flag = f"refused at start: {decision.reason}"
    try:
        with session.begin_nested():
            session.add(tx)
            session.flush()
    except IntegrityError:  # the same start raced in through another connection
        existing = session.scalar(select(Transaction).where(Transaction.start_key == key))
        return StartOutcome(existing.id, _start_status(existing), True)
    if decision.allowed:
        hook = actions_hook("on_transaction_started")
        if hook:
            hook(session, tx)
    return StartOutcome(tx.id, TAG_STATUS.get(decision.reason, "Invalid"), False)


ABANDONED = "Abandoned"


def _close_abandoned(session: Session, cp: ChargePoint, connector_id: int, before: datetime) -> None:
    """An older session on this connector that never got its stop: close it on its last reading, flagged.

    If its real StopTransaction turns up later (queued by the charger), that stop replaces this closure.
    """
    stale = session.scalars(select(Transaction).where(
        Transaction.charge_point_id == cp.id, Transaction.connector_id == connector_id,
        Transaction.status == "active", Transaction.started_at < before)).all()
    for old in stale:
        log.warning("%s: transaction %s never stopped; closed when a new one started", cp.identity, old.id)
        meter = old.meter_last_wh if old.meter_last_wh is not None else old.meter_start_wh
        old.meter_flag = f"{old.meter_flag}; no StopTransaction received" if old.meter_flag else \
            "no StopTransaction received"
        _close(session, old, meter, before, ABANDONED, f"abandoned-{old.id}")


def _start_status(tx: Transaction) -> str:
    if tx.meter_flag and tx.meter_flag.startswith("refused at start"):
        return "Blocked" if "blocked_tag" in tx.meter_flag else "Invalid"
    return "Accepted"


def _snapshot_price(tx: Transaction, cp: ChargePoint, choice: Any) -> None:
    """Copy the price that applies now: a later tariff change never touches a running session."""
    site = cp.site
    tx.price_area, tx.currency, tx.vat_rate_bp = site.price_area, site.currency, site.vat_rate_bp
    tariff = choice.tariff if choice is not None else None
    if tariff is None:
        return
    tx.tariff_id, tx.tariff_name, tx.pricing_type = tariff.id, tariff.name, tariff.pricing_type
    tx.energy_fee, tx.min_price_minor, tx.preauth_minor = tariff.energy_fee, tariff.min_price_minor, tariff.preauth_minor
    tx.spot_markup, tx.spot_markup_percent = tariff.spot_markup, tariff.spot_markup_percent
    tx.spot_fallback = tariff.spot_fallback


def meter_values(session: Session, identity: str, *, connector_id: int, transaction_id: int | None,
                 meter_value: list[dict], now: datetime, context: str | None = None,
                 charge_point_id: int | None = None, open_transaction_id: int | None = None) -> int:
    """Store every sampled value; the transaction keeps its newest sane energy reading. Returns rows stored.

    The rows are written in one bulk INSERT per transaction (write_pending, run before COMMIT), so a
    group commit of many messages inserts all their samples in one statement. A connection that knows
    its charge point id and the connector's open transaction passes them (no lookups on the hot path).
    """
    if charge_point_id is None:
        charge_point_id = charge_point(session, identity).id
        tx = _transaction_for(session, charge_point_id, connector_id, transaction_id)
    else:
        tx = _transaction_for(session, charge_point_id, connector_id, transaction_id, open_transaction_id,
                              known=True)
    pending = session.info.setdefault(PENDING_METER_ROWS, [])
    stored = 0
    for entry in sorted(meter_value, key=lambda e: e["timestamp"]):
        for sample in entry.get("sampled_value") or []:
            row = _meter_row(identity, charge_point_id, connector_id, tx, entry["timestamp"], sample, context)
            if row is None:
                continue
            pending.append(row)
            stored += 1
            if tx is not None and row["measurand"] == ENERGY_REGISTER and not row["phase"]:
                _track_register(tx, int(to_wh(row["value"], row["unit"])), row["timestamp"])
    return stored


PENDING_METER_ROWS = "ocpp_pending_meter_rows"


def write_pending(session: Session) -> int:
    """Insert the meter rows this session collected, in one statement (insertmanyvalues)."""
    rows = session.info.pop(PENDING_METER_ROWS, None)
    if rows:
        session.execute(insert(MeterValue.__table__), rows)  # Core executemany: one INSERT ... VALUES (...), (...)
    return len(rows or ())


@event.listens_for(Session, "before_commit")
def _write_pending_before_commit(session: Session) -> None:
    write_pending(session)


def _transaction_for(session: Session, charge_point_id: int, connector_id: int, transaction_id: int | None,
                     open_transaction_id: int | None = None, known: bool = False):
    if transaction_id is not None:
        tx = session.get(Transaction, transaction_id)
        return tx if tx is not None and tx.charge_point_id == charge_point_id else None
    if connector_id < 1:
        return None
    if known:  # the connection tracks its open transactions (started and stopped through it)
        tx = session.get(Transaction, open_transaction_id) if open_transaction_id is not None else None
        return tx if tx is not None and tx.status == "active" and tx.charge_point_id == charge_point_id else None
    return session.scalar(select(Transaction).where(
        Transaction.charge_point_id == charge_point_id, Transaction.connector_id == connector_id,
        Transaction.status == "active").order_by(Transaction.started_at.desc()).limit(1))


def _meter_row(identity: str, charge_point_id: int, connector_id: int, tx: Transaction | None, timestamp: datetime,
               sample: dict, context: str | None) -> dict | None:
    try:
        value = Decimal(str(sample["value"]).strip())
    except (KeyError, InvalidOperation):
        log.warning("%s: unreadable meter value %r skipped", identity, sample.get("value"))
        return None
    return {
        "charge_point_id": charge_point_id, "connector_id": connector_id, "transaction_id": tx.id if tx else None,
        "timestamp": timestamp, "measurand": sample.get("measurand") or ENERGY_REGISTER, "value": value,
        "unit": sample.get("unit") or "Wh", "phase": sample.get("phase"), "context": sample.get("context") or context,
    }


def _track_register(tx: Transaction, wh: int, at: datetime) -> None:
    """Keep the newest reading; a register lower than an earlier one is flagged, not trusted."""
    if tx.meter_last_wh is not None and wh < tx.meter_last_wh:
        note = f"register went backwards to {wh} Wh at {format_time(at)}"
        tx.meter_flag = f"{tx.meter_flag}; {note}" if tx.meter_flag else note
        return
    tx.meter_last_wh = wh


def stop_transaction(session: Session, identity: str, *, transaction_id: int, meter_stop: int,
                     timestamp: datetime, reason: str | None, id_tag: str | None,
                     transaction_data: list[dict] | None, payload: dict, now: datetime) -> str | None:
    """Close and bill a session once; a retry is recognised; an unknown id is kept as an OrphanStop.

    Returns the idTagInfo.status for the stop's id tag (None when the charger sent none).
    """
    cp = charge_point(session, identity)
    _seen(cp, now)
    key = stop_key(identity, transaction_id, meter_stop, timestamp)
    tx = session.get(Transaction, transaction_id)
    if tx is None or tx.charge_point_id != cp.id:
        _orphan(session, cp, transaction_id, meter_stop, timestamp, reason, id_tag, key, payload, "unknown transaction")
    elif tx.stop_key == key and tx.stop_reason != ABANDONED:
        log.info("%s: duplicate StopTransaction for %s ignored", identity, transaction_id)
    elif tx.stop_key is not None and tx.stop_reason != ABANDONED:
        _orphan(session, cp, transaction_id, meter_stop, timestamp, reason, id_tag, key, payload,
                "second, different stop for a finished transaction")
    else:
        if tx.stop_reason == ABANDONED:
            tx.meter_flag = f"{tx.meter_flag}; late StopTransaction replaced the automatic closure"
        if transaction_data:
            meter_values(session, identity, connector_id=tx.connector_id, transaction_id=tx.id,
                         meter_value=transaction_data, now=now, context="Transaction.End")
        _close(session, tx, meter_stop, timestamp, reason, key)
        hook = actions_hook("on_transaction_stopped")
        if hook:
            hook(session, tx)
    session.flush()
    return tag_status(session, cp, id_tag) if id_tag else None


def _close(session: Session, tx: Transaction, meter_stop: int, timestamp: datetime, reason: str | None,
           key: str) -> None:
    refused = (tx.meter_flag or "").startswith("refused at start")  # recorded, never billed
    tx.stop_key, tx.meter_stop_wh, tx.stop_reason = key, meter_stop, reason or "Local"
    tx.stopped_at = max(timestamp, tx.started_at)
    tx.status = "completed"
    if refused:
        return
    write_pending(session)  # the readings of this very batch count too
    readings = register_readings(session, tx)
    energy = session_energy(tx, meter_stop, tx.stopped_at, readings)
    tx.energy_wh = energy.wh
    if energy.flag:
        tx.meter_flag = f"{tx.meter_flag}; {energy.flag}" if tx.meter_flag else energy.flag
    cost = transaction_cost(session, tx, readings)
    tx.cost_minor, tx.vat_minor = cost.total_minor, cost.vat_minor


def _orphan(session: Session, cp: ChargePoint, transaction_id: int, meter_stop: int, timestamp: datetime,
            reason: str | None, id_tag: str | None, key: str, payload: dict, note: str) -> None:
    if session.scalar(select(OrphanStop.id).where(OrphanStop.stop_key == key)) is not None:
        return
    log.warning("%s: StopTransaction for %s recorded for support (%s)", cp.identity, transaction_id, note)
    session.add(OrphanStop(
        charge_point_id=cp.id, transaction_id=transaction_id, id_tag=id_tag, meter_stop_wh=meter_stop,
        timestamp=timestamp, reason=reason, stop_key=key, payload=payload, note=note,
    ))
