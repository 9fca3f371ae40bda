"""Closing a session and billing it, closing sessions that never got a stop, and stops nobody can match."""
from __future__ import annotations

import json
import logging
import math
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import ChargePoint, OrphanStop, Transaction
from portal.services.charging.meter_flags import add_flag
from portal.services.charging.metering import register_readings, session_energy, transaction_cost
from portal.services.ocpp_ingest.common import MessageBatch

log = logging.getLogger(__name__)
ABANDONED = "Abandoned"
MAX_BIGINT = 2**63 - 1


def close(session: Session, tx: Transaction, meter_stop: int, at: datetime, reason: str | None, key: str,
          *, no_readings: bool = False, batch: MessageBatch | None = None) -> None:
    """Complete the session: energy from its readings, cost from its price snapshot (0 when not billable)."""
    tx.stop_key, tx.meter_stop_wh, tx.stop_reason = key, meter_stop, reason or "Local"
    tx.stopped_at = max(at, tx.started_at)
    tx.status = "completed"
    if batch is not None:
        batch.write_meter_rows(session)  # the readings of this very batch count too
    readings = register_readings(session, tx)
    energy = session_energy(tx, meter_stop, tx.stopped_at, readings)
    tx.energy_wh = energy.wh
    for code, details in energy.flags:
        add_flag(tx, code, **details)
    if no_readings:
        add_flag(tx, "no_readings")
    tx.billable = not tx.refused_at_start and energy.billable and not no_readings
    cost = transaction_cost(session, tx, readings)
    tx.cost_minor, tx.vat_minor = cost.total_minor, cost.vat_minor


def close_abandoned(session: Session, cp: ChargePoint, connector_id: int, before: datetime,
                    batch: MessageBatch | None = None) -> None:
    """An older session on this connector that never got its stop: close it on its last reading, flagged.

    Without any reading after its start it costs 0 (nothing says energy was delivered). If its real
    StopTransaction turns up later (queued by the charger), that stop replaces this closure.
    """
    stale = session.scalars(select(Transaction).where(
        Transaction.charge_point_id == cp.id, Transaction.connector_id == connector_id,
        Transaction.status == "active", Transaction.started_at < before)).all()
    for old in stale:
        log.warning("%s: transaction %s never stopped; closed when a new one started", cp.identity, old.id)
        add_flag(old, "no_stop_received")
        no_readings = old.meter_last_wh is None
        meter = old.meter_start_wh if no_readings else old.meter_last_wh
        close(session, old, meter, before, ABANDONED, f"abandoned-{old.id}", no_readings=no_readings, batch=batch)


def orphan(session: Session, cp: ChargePoint, transaction_id: int, meter_stop: int, timestamp: datetime,
           reason: str | None, id_tag: str | None, key: str, payload: dict, note: str) -> None:
    """Keep a stop we cannot match (with its transactionData) for support to reconcile."""
    if session.scalar(select(OrphanStop.id).where(OrphanStop.stop_key == key)) is not None:
        return
    log.warning("%s: StopTransaction for %s recorded for support (%s)", cp.identity, transaction_id, note)
    session.add(OrphanStop(
        charge_point_id=cp.id, transaction_id=transaction_id if abs(transaction_id) <= MAX_BIGINT else -1,
        id_tag=id_tag, meter_stop_wh=meter_stop if abs(meter_stop) <= MAX_BIGINT else -1,
        timestamp=timestamp, reason=reason, stop_key=key, payload=json_safe(payload), note=note,
    ))


def json_safe(value: Any) -> Any:
    """A copy every database's JSON type accepts: non-finite numbers and NUL characters become text."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_BIGINT:
        return str(value)
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return json.dumps(value, default=str)
