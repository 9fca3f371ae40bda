"""What a receipt shows beyond the session row: its number, the issuer, the effective price per kWh
(the energy-weighted average for spot sessions) and the 15-minute (or hourly) price intervals used."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.orm import Session

from portal.models import Statement, Transaction
from portal.services.billing import spot, statements
from portal.services.charging import metering


def receipt_number(tx: Transaction) -> str:
    """One per session, stable: K-00000042 (the OCPP transaction id is unique across the system)."""
    return f"K-{tx.id:08d}"


@dataclass(frozen=True)
class IntervalLine:
    starts_at: datetime | None  # None: time with no spot price, billed at the tariff's fallback price
    energy_wh: int
    unit_price: Decimal


@dataclass(frozen=True)
class Receipt:
    number: str
    effective_price: Decimal | None
    intervals: list[IntervalLine]
    billing_month: date | None = None  # the month whose statement bills it: the month it started (site time)
    billed_on: Statement | None = None  # the document that bills it, once issued


def _average(parts: list[spot.BilledPart]) -> Decimal | None:
    energy = sum((p.wh for p in parts), Decimal(0))
    if energy <= 0:
        return None
    weighted = sum((p.wh * p.unit_price for p in parts), Decimal(0))
    return (weighted / energy).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def _billing(session: Session, tx: Transaction) -> dict:
    year, month = statements.billing_month(tx)
    return {"billing_month": date(year, month, 1), "billed_on": statements.document_of_session(session, tx.id)}


def receipt(session: Session, tx: Transaction) -> Receipt:
    """The receipt of a finished session."""
    if tx.pricing_type != "spot":
        return Receipt(receipt_number(tx), Decimal(tx.energy_fee), [], **_billing(session, tx))
    parts = spot.spot_parts(session, tx, metering.register_readings(session, tx))
    merged: dict[datetime | None, list[spot.BilledPart]] = {}
    for part in parts:
        merged.setdefault(part.starts_at, []).append(part)
    lines = [IntervalLine(start, int(sum((p.wh for p in group), Decimal(0)).quantize(Decimal("1"), ROUND_HALF_UP)),
                          _average(group) or group[0].unit_price)
             for start, group in merged.items()]
    lines.sort(key=lambda ln: (ln.starts_at is None, ln.starts_at or datetime.min))
    return Receipt(receipt_number(tx), _average(parts), [ln for ln in lines if ln.energy_wh > 0], **_billing(session, tx))
