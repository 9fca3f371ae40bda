"""Authorize, StartTransaction and StopTransaction: sessions opened once, closed once, billed once."""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.models import ChargePoint, IdTag, OrphanStop, Transaction
from portal.services import access
from portal.services.metering import register_readings, session_energy, transaction_cost
from portal.services.ocpp_ingest.common import (
    TAG_STATUS, StartOutcome, actions_hook, charge_point, format_time, seen,
)
from portal.services.ocpp_ingest.meter_values import meter_values

log = logging.getLogger(__name__)


def authorize(session: Session, identity: str, id_tag: str, now: datetime) -> str:
    """idTagInfo.status for this tag at this charge point (site access, owner, tariff)."""
    cp = charge_point(session, identity)
    seen(cp, now)
    session.flush()
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
    seen(cp, now)
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


def stop_transaction(session: Session, identity: str, *, transaction_id: int, meter_stop: int,
                     timestamp: datetime, reason: str | None, id_tag: str | None,
                     transaction_data: list[dict] | None, payload: dict, now: datetime) -> str | None:
    """Close and bill a session once; a retry is recognised; an unknown id is kept as an OrphanStop.

    Returns the idTagInfo.status for the stop's id tag (None when the charger sent none).
    """
    cp = charge_point(session, identity)
    seen(cp, now)
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
