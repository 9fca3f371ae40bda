"""MeterValues (and a stop's transactionData): every sane sample stored once; the session keeps its register."""
from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import ChargePoint, MeterValue, Transaction
from portal.services.metering import ENERGY_REGISTER, to_wh
from portal.services.ocpp_ingest.common import charge_point, format_time, seen

log = logging.getLogger(__name__)


def meter_values(session: Session, identity: str, *, connector_id: int, transaction_id: int | None,
                 meter_value: list[dict], now: datetime, context: str | None = None) -> int:
    """Store every sampled value; the transaction keeps its newest sane energy reading. Returns rows stored."""
    cp = charge_point(session, identity)
    seen(cp, now)
    tx = _transaction_for(session, cp, connector_id, transaction_id)
    stored = 0
    for entry in sorted(meter_value, key=lambda e: e["timestamp"]):
        for sample in entry.get("sampled_value") or []:
            row = _meter_row(cp, connector_id, tx, entry["timestamp"], sample, context)
            if row is None:
                continue
            session.add(row)
            stored += 1
            if tx is not None and row.measurand == ENERGY_REGISTER and not row.phase:
                _track_register(tx, int(to_wh(row.value, row.unit)), row.timestamp)
    session.flush()
    return stored


def _transaction_for(session: Session, cp: ChargePoint, connector_id: int, transaction_id: int | None):
    if transaction_id is not None:
        tx = session.get(Transaction, transaction_id)
        return tx if tx is not None and tx.charge_point_id == cp.id else None
    if connector_id < 1:
        return None
    return session.scalar(select(Transaction).where(
        Transaction.charge_point_id == cp.id, Transaction.connector_id == connector_id,
        Transaction.status == "active").order_by(Transaction.started_at.desc()).limit(1))


def _meter_row(cp: ChargePoint, connector_id: int, tx: Transaction | None, timestamp: datetime,
               sample: dict, context: str | None) -> MeterValue | None:
    try:
        value = Decimal(str(sample["value"]).strip())
    except (KeyError, InvalidOperation):
        log.warning("%s: unreadable meter value %r skipped", cp.identity, sample.get("value"))
        return None
    return MeterValue(
        charge_point_id=cp.id, connector_id=connector_id, transaction_id=tx.id if tx else None,
        timestamp=timestamp, measurand=sample.get("measurand") or ENERGY_REGISTER, value=value,
        unit=sample.get("unit") or "Wh", phase=sample.get("phase"), context=sample.get("context") or context,
    )


def _track_register(tx: Transaction, wh: int, at: datetime) -> None:
    """Keep the newest reading; a register lower than an earlier one is flagged, not trusted."""
    if tx.meter_last_wh is not None and wh < tx.meter_last_wh:
        note = f"register went backwards to {wh} Wh at {format_time(at)}"
        tx.meter_flag = f"{tx.meter_flag}; {note}" if tx.meter_flag else note
        return
    tx.meter_last_wh = wh
