"""MeterValues (and a stop's transactionData): every sane sample stored once; the session keeps its register.

Chargers in the field send NaN, Infinity, empty strings, numbers where the schema wants strings,
unknown units and unreadable timestamps. Each such sample (or entry) is skipped and counted on
the charger (`skipped_samples`); the rest of the message is stored. A sample sent twice (a
resent MeterValues, or a stop's transactionData replaying periodic readings) is stored once.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ocpp.v16.enums import Location, Measurand, Phase, ReadingContext, UnitOfMeasure, ValueFormat
from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from portal.models import MeterValue, Transaction
from portal.services.charging import after_close
from portal.services.charging.meter_flags import add_flag
from portal.services.charging.metering import ENERGY_REGISTER, to_wh
from portal.services.ocpp_ingest.common import (
    CLOCK_AHEAD_LIMIT, MessageBatch, charge_point, format_time, open_transaction, parse_time,
)

log = logging.getLogger(__name__)

# Numeric(16, 3) holds 13 integer digits; no real meter comes near this.
MAX_ABS_VALUE = Decimal(10) ** 12
_ENUMS = {
    "measurand": {m.value for m in Measurand}, "unit": {u.value for u in UnitOfMeasure},
    "phase": {p.value for p in Phase}, "location": {loc.value for loc in Location},
    "context": {c.value for c in ReadingContext}, "format": {f.value for f in ValueFormat},
}


@dataclass(frozen=True)
class Sample:
    timestamp: datetime
    value: Decimal
    measurand: str
    unit: str
    phase: str | None
    location: str | None
    context: str | None


def readable_samples(entries: Any, now: datetime) -> tuple[list[Sample], int]:
    """The samples of a meterValue list that can be trusted, and how many were skipped.

    An entry whose timestamp is unreadable or more than CLOCK_AHEAD_LIMIT ahead is skipped whole:
    a reading placed at the wrong time would misorder the register."""
    if not isinstance(entries, list):
        return [], 1
    samples: list[Sample] = []
    skipped = 0
    for entry in entries:
        raw = entry.get("sampled_value") if isinstance(entry, dict) else None
        at = _timestamp(entry.get("timestamp")) if isinstance(entry, dict) else None
        if at is None or at > now + CLOCK_AHEAD_LIMIT or not isinstance(raw, list):
            skipped += len(raw) if isinstance(raw, list) and raw else 1
            continue
        for item in raw:
            sample = _sample(at, item)
            if sample is None:
                skipped += 1
            else:
                samples.append(sample)
    return samples, skipped


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return parse_time(value)
    except (ValueError, TypeError, AttributeError):
        return None


def _sample(at: datetime, item: Any) -> Sample | None:
    """One sampledValue, or None when it is not a finite, sane number with known enum values."""
    if not isinstance(item, dict) or not isinstance(item.get("value"), str) or not _known_enums(item):
        return None
    if item.get("format") == "SignedData":
        return None
    try:
        value = Decimal(item["value"].strip())
    except InvalidOperation:
        return None
    measurand = item.get("measurand") or ENERGY_REGISTER
    if not value.is_finite() or abs(value) >= MAX_ABS_VALUE or (measurand == ENERGY_REGISTER and value < 0):
        return None
    return Sample(at, value, measurand, item.get("unit") or "Wh", item.get("phase") or None,
                  item.get("location") or None, item.get("context"))


def _known_enums(item: dict) -> bool:
    """Every enum field present holds a value OCPP 1.6 knows."""
    return all(item.get(field) is None or item[field] in allowed for field, allowed in _ENUMS.items())


def sample_key(cp_id: int, connector_id: int, s: Sample) -> str:
    raw = f"{cp_id}|{connector_id}|{format_time(s.timestamp)}|{s.measurand}|{s.phase}|{s.location}|{s.unit}"
    return hashlib.sha256(raw.encode()).hexdigest()


def meter_values(session: Session, identity: str, *, connector_id: int, transaction_id: int | None,
                 meter_value: Any, now: datetime, context: str | None = None,
                 charge_point_id: int | None = None, open_transaction_id: int | None = None,
                 batch: MessageBatch | None = None) -> int:
    """Store every sane sample once; the transaction keeps its newest energy reading. Returns rows queued
    (in the batch, inserted before its COMMIT; without a batch, inserted here).

    A connection that knows its charge point id and the connector's open transaction passes them, so
    the hot path looks nothing up (the charge point is loaded only to count skipped samples). The
    charger's last-seen time is the node's business (ocpp_server.seen)."""
    samples, skipped = readable_samples(meter_value, now)
    known = charge_point_id is not None  # the connection tracks its open transactions
    if charge_point_id is None or skipped:
        cp = charge_point(session, identity, batch)
        charge_point_id = cp.id
        if skipped:
            cp.skipped_samples = (cp.skipped_samples or 0) + skipped
            log.warning("%s: %d unreadable meter value(s) skipped", identity, skipped)
    tx = _transaction_for(session, charge_point_id, connector_id, transaction_id, open_transaction_id,
                          batch, known)
    closed = tx if tx is not None and after_close.is_hand_closed(tx) else (
        _closed_by_hand(session, charge_point_id, connector_id, open_transaction_id)
        if tx is None and transaction_id is None else None)
    if closed is not None:  # support closed it by hand, the charger goes on: recorded for review, never billed
        after_close.record_report(closed, _register_wh(samples), now)
        tx = None
    rows = sample_rows(charge_point_id, connector_id, tx, samples, context,
                       batch.meter_rows if batch is not None else {})
    if batch is None:
        insert_meter_rows(session, list(rows.values()))
    return len(rows)


def _closed_by_hand(session: Session, charge_point_id: int, connector_id: int,
                    open_transaction_id: int | None) -> Transaction | None:
    """The session this connection still counts as open on the outlet, when support has closed it by hand
    (a charger sending MeterValues without a transactionId goes on with it)."""
    if open_transaction_id is None:
        return None
    tx = session.get(Transaction, open_transaction_id)
    if tx is None or tx.charge_point_id != charge_point_id or tx.connector_id != connector_id:
        return None
    return tx if after_close.is_hand_closed(tx) else None


def _register_wh(samples: list[Sample]) -> int | None:
    """The highest whole-charger energy register reading among the samples (Wh)."""
    readings = [int(to_wh(s.value, s.unit)) for s in samples if s.measurand == ENERGY_REGISTER and not s.phase]
    return max(readings, default=None)


def sample_rows(charge_point_id: int, connector_id: int, tx: Transaction | None, samples: list[Sample],
                context: str | None, pending: dict[str, dict]) -> dict[str, dict]:
    """The meter rows of these samples not yet in `pending` (the batch's rows, by sample key), added to it.

    A sample already stored (same key) is skipped by the database (ON CONFLICT DO NOTHING), so resent
    values are stored once. Returns only the rows this call added."""
    added: dict[str, dict] = {}
    for s in sorted(samples, key=lambda s: s.timestamp):
        key = sample_key(charge_point_id, connector_id, s)
        if key in pending:
            continue
        pending[key] = added[key] = {
            "charge_point_id": charge_point_id, "connector_id": connector_id,
            "transaction_id": tx.id if tx else None, "timestamp": s.timestamp, "measurand": s.measurand,
            "value": s.value, "unit": s.unit, "phase": s.phase, "context": s.context or context, "sample_key": key,
        }
        if tx is not None and s.measurand == ENERGY_REGISTER and not s.phase:
            track_register(tx, int(to_wh(s.value, s.unit)), s.timestamp)  # idempotent for a resent sample
    return added


def insert_meter_rows(session: Session, rows: list[dict]) -> int:
    """Insert meter rows in one executemany; known sample keys are skipped."""
    if not rows:
        return 0
    table = MeterValue.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt = pg_insert(table).on_conflict_do_nothing(index_elements=["sample_key"])
    elif dialect == "sqlite":
        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=["sample_key"])
    else:  # pragma: no cover - the portal runs on SQLite and PostgreSQL only
        stmt = insert(table)
    session.execute(stmt, rows)
    return len(rows)


def _transaction_for(session: Session, charge_point_id: int, connector_id: int, transaction_id: Any,
                     open_transaction_id: int | None = None, batch: MessageBatch | None = None,
                     known: bool = False):
    if isinstance(transaction_id, int) and not isinstance(transaction_id, bool):
        tx = session.get(Transaction, transaction_id) if abs(transaction_id) < 2**62 else None
        return tx if tx is not None and tx.charge_point_id == charge_point_id else None
    if connector_id < 1:
        return None
    if known:  # the connection tracks the transactions started and stopped through it
        loaded, open_id = open_transaction(batch, charge_point_id, connector_id)
        if loaded:  # what the batch loaded (or the node's cache held) is fresher: support may have closed it
            open_transaction_id = open_id
        tx = session.get(Transaction, open_transaction_id) if open_transaction_id is not None else None
        return tx if tx is not None and tx.status == "active" and tx.charge_point_id == charge_point_id else None
    return session.scalar(select(Transaction).where(
        Transaction.charge_point_id == charge_point_id, Transaction.connector_id == connector_id,
        Transaction.status == "active").order_by(Transaction.started_at.desc()).limit(1))


def track_register(tx: Transaction, wh: int, at: datetime) -> None:
    """Keep the newest reading by the charger's time; readings that disagree with their order are flagged.

    An older reading arriving late (a stop's transactionData replays Begin and periodic values) is
    no problem as long as it is not higher than a later one."""
    last_wh, last_at = tx.meter_last_wh, tx.meter_last_at
    if last_wh is None or last_at is None or at >= last_at:
        if last_wh is not None and wh < last_wh:
            add_flag(tx, "register_backwards", wh=wh, at=format_time(at))
            return
        tx.meter_last_wh, tx.meter_last_at = wh, at
    elif wh > last_wh:
        add_flag(tx, "register_backwards", wh=last_wh, at=format_time(last_at))
