"""Authorize, StartTransaction and StopTransaction: sessions opened once, closed once, billed once.

Deduplication keys are content fingerprints of what the charger sent (an unreadable timestamp is
left out of them). A resent start gets the same transaction id while that session is open; once
it has its stop, an identical start is a new session. Charger clocks are checked by
common.charger_time; a replaced time is flagged on the session.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.models import ChargePoint, IdTag, Transaction
from portal.services.charging import access, actions, after_close
from portal.services.charging import action_hooks
from portal.services.charging.meter_flags import add_flag
from portal.services.ocpp_ingest.closing import ABANDONED, close, close_abandoned, orphan
from portal.services.ocpp_ingest.common import (
    TAG_STATUS, MessageBatch, StartOutcome, charge_point, charger_time, format_time, seen, transaction_opened,
)
from portal.services.ocpp_ingest.meter_values import meter_values

log = logging.getLogger(__name__)
MAX_ID = 2**31 - 1  # transaction ids are 32-bit integers in the database


def authorize(session: Session, identity: str, id_tag: str, now: datetime,
              batch: MessageBatch | None = None) -> str:
    """idTagInfo.status for this tag at this charge point (site access, owner, tariff)."""
    cp = charge_point(session, identity, batch)
    seen(cp, now)
    session.flush()
    return tag_status(session, cp, id_tag)


def tag_status(session: Session, cp: ChargePoint, id_tag: str) -> str:
    decision = access.tag_decision(session, id_tag, cp)
    if not decision.allowed:
        log.info("%s: id tag refused (%s)", cp.identity, decision.reason)
    return TAG_STATUS.get(decision.reason, "Invalid")


def _time_text(timestamp: datetime | None) -> str:
    return format_time(timestamp) if timestamp is not None else "-"


def start_key(identity: str, connector_id: int, id_tag: str, meter_start: int, timestamp: datetime | None) -> str:
    raw = f"start|{identity}|{connector_id}|{id_tag}|{meter_start}|{_time_text(timestamp)}"
    return hashlib.sha256(raw.encode()).hexdigest()


def stop_key(identity: str, transaction_id: int, meter_stop: int, timestamp: datetime | None) -> str:
    raw = f"stop|{identity}|{transaction_id}|{meter_stop}|{_time_text(timestamp)}"
    return hashlib.sha256(raw.encode()).hexdigest()


def _is_open(tx: Transaction) -> bool:
    """No StopTransaction yet (an automatic closure is not a stop)."""
    return tx.stop_key is None or tx.stop_reason == ABANDONED


def _repeated_start(session: Session, key: str) -> tuple[Transaction | None, str]:
    """The open session this start repeats, or the key for a new session (chained past closed ones)."""
    while True:
        existing = session.scalar(select(Transaction).where(Transaction.start_key == key))
        if existing is None:
            return None, key
        if _is_open(existing):
            return existing, key
        key = hashlib.sha256(f"{key}|after|{existing.id}".encode()).hexdigest()


# A start stamped this long before it arrived was made while the charger was offline (or queued): it is
# billed by the access the user had at that moment. Closer to now, a charger clock a little behind must
# not hide a subscription taken a moment ago, so the current access decides.
OFFLINE_START_AFTER = timedelta(minutes=10)


def access_moment(started_at: datetime, now: datetime) -> datetime | None:
    """When to judge a start's access: its own time for a start made offline, else now (None)."""
    return started_at if started_at < now - OFFLINE_START_AFTER else None


def start_transaction(session: Session, identity: str, *, connector_id: int, id_tag: str,
                      meter_start: int, timestamp: datetime | None, now: datetime,
                      batch: MessageBatch | None = None) -> StartOutcome:
    """Allocate the transaction id; a resent start gets the same id while that session is open.

    A refused tag still gets a transaction id (the charger needs one to report its stop, and may
    keep charging): the session records its energy, is marked not billable with the access
    decision, and costs 0.
    """
    cp = charge_point(session, identity, batch)
    seen(cp, now)
    existing, key = _repeated_start(session, start_key(identity, connector_id, id_tag, meter_start, timestamp))
    if existing is not None:
        return StartOutcome(existing.id, _start_status(existing), True)
    when = charger_time(cp, timestamp, now)
    decision = access.tag_decision(session, id_tag, cp, as_of=access_moment(when.at, now))
    tx = Transaction(
        charge_point_id=cp.id, connector_id=connector_id, id_tag=id_tag, start_key=key,
        meter_start_wh=meter_start, started_at=when.at, status="active", meter_flags=[],
        access_decision=decision.reason if not decision.allowed else "ok", billable=decision.allowed,
    )
    tag = session.scalar(select(IdTag).where(IdTag.tag == id_tag))
    tx.user_id = tag.user_id if tag else None
    if meter_start <= 0:
        add_flag(tx, "meter_start_not_positive", wh=meter_start)
    if when.replaced:
        add_flag(tx, "clock_replaced", field="StartTransaction.timestamp", claimed=_time_text(timestamp))
    _snapshot_price(tx, cp, decision.tariff_choice)
    close_abandoned(session, cp, connector_id, when.at, batch)
    if not decision.allowed:
        tx.status, tx.stopped_at, tx.stop_reason = "completed", when.at, "DeAuthorized"
        tx.cost_minor, tx.vat_minor = 0, 0
    try:
        with session.begin_nested():
            session.add(tx)
            session.flush()
    except IntegrityError:  # the same start raced in through another connection
        existing = session.scalar(select(Transaction).where(Transaction.start_key == key))
        return StartOutcome(existing.id, _start_status(existing), True)
    if tx.status == "active":
        transaction_opened(batch, tx)
    if decision.allowed:
        action_hooks.on_transaction_started(session, tx)
    return StartOutcome(tx.id, TAG_STATUS.get(decision.reason, "Invalid"), False)


def _start_status(tx: Transaction) -> str:
    if tx.refused_at_start:
        return TAG_STATUS.get(tx.access_decision or "", "Invalid")
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
                     timestamp: datetime | None, reason: str | None, id_tag: str | None,
                     transaction_data: Any, payload: dict, now: datetime,
                     batch: MessageBatch | None = None) -> str | None:
    """Close and bill a session once; a retry is recognised; an unknown id is kept as an OrphanStop.

    Returns the idTagInfo.status for the stop's id tag (None when the charger sent none).
    """
    cp = charge_point(session, identity, batch)
    seen(cp, now)
    key = stop_key(identity, transaction_id, meter_stop, timestamp)
    tx = session.get(Transaction, transaction_id) if 0 < transaction_id <= MAX_ID else None
    if tx is None or tx.charge_point_id != cp.id:
        orphan(session, cp, transaction_id, meter_stop, timestamp or now, reason, id_tag, key, payload,
               "unknown transaction")
    elif tx.stop_key == key and tx.stop_reason != ABANDONED:
        log.info("%s: duplicate StopTransaction for %s ignored", identity, transaction_id)
    elif not _is_open(tx):
        note = ("late StopTransaction after support closed the session" if tx.closed_by_support
                else "second, different stop for a finished transaction")
        if tx.closed_by_support:
            after_close.record_late_stop(tx, meter_stop, now)
        orphan(session, cp, transaction_id, meter_stop, timestamp or now, reason, id_tag, key, payload, note)
    else:
        _stop(session, cp, tx, meter_stop, timestamp, reason, transaction_data, key, now, batch)
    session.flush()
    return tag_status(session, cp, id_tag) if id_tag else None


def _stop(session: Session, cp: ChargePoint, tx: Transaction, meter_stop: int, timestamp: datetime | None,
          reason: str | None, transaction_data: Any, key: str, now: datetime, batch: MessageBatch | None) -> None:
    if tx.stop_reason == ABANDONED:
        add_flag(tx, "late_stop_replaced_closure")
    when = charger_time(cp, timestamp, now, earliest=tx.started_at)
    if when.replaced:
        add_flag(tx, "clock_replaced", field="StopTransaction.timestamp", claimed=_time_text(timestamp))
    if transaction_data:
        meter_values(session, cp.identity, connector_id=tx.connector_id, transaction_id=tx.id,
                     meter_value=transaction_data, now=now, context="Transaction.End", batch=batch)
    close(session, tx, meter_stop, when.at, reason, key, batch=batch)
    if not tx.refused_at_start:
        action_hooks.on_transaction_stopped(session, tx)
