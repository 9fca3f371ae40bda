"""Energy from meter readings with sanity checks, and the cost of a finished session.

Chargers report an energy register (Wh). A session's energy is the difference between the
stop and start readings; a broken meter (zero or negative start, a register that runs
backwards, an implausible jump) is flagged for support instead of billed blindly.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import MeterValue, Transaction
from portal.services.billing.pricing import Cost, session_cost
from portal.services.billing.spot import spot_cost  # spot billing lives with the spot prices

ENERGY_REGISTER = "Energy.Active.Import.Register"
# No car battery takes more than this in one session; anything above is a meter fault.
MAX_SESSION_WH = 250_000
# Faster than any charger can deliver (W), with a 1 kWh allowance for clock skew.
MAX_POWER_W = 400_000
SLACK_WH = 1_000


@dataclass(frozen=True)
class Energy:
    wh: int
    # (code, details) notes for portal.services.charging.meter_flags; empty when the readings were sane.
    flags: tuple[tuple[str, dict], ...] = ()
    billable: bool = True


def to_wh(value: Decimal, unit: str | None) -> Decimal:
    """An energy reading in Wh (chargers may report kWh)."""
    return value * 1000 if (unit or "Wh") == "kWh" else value


def plausible(wh: int, started_at: datetime, stopped_at: datetime) -> bool:
    hours = max((stopped_at - started_at).total_seconds(), 0) / 3600
    return 0 <= wh <= MAX_SESSION_WH and wh <= hours * MAX_POWER_W + SLACK_WH


def register_readings(session: Session, tx: Transaction) -> list[tuple[datetime, int]]:
    """The transaction's energy-register samples, oldest first, in Wh."""
    rows = session.execute(
        select(MeterValue.timestamp, MeterValue.value, MeterValue.unit)
        .where(MeterValue.transaction_id == tx.id, MeterValue.measurand == ENERGY_REGISTER)
        .where((MeterValue.phase.is_(None)) | (MeterValue.phase == ""))
        .order_by(MeterValue.timestamp, MeterValue.id)
    ).all()
    return [(ts, int(to_wh(Decimal(v), unit))) for ts, v, unit in rows]


def session_energy(tx: Transaction, meter_stop: int, stopped_at: datetime,
                   readings: list[tuple[datetime, int]]) -> Energy:
    """Billable energy for a stop; falls back to the sampled readings when start/stop are not sane."""
    flags: list[tuple[str, dict]] = []  # a zero or negative start was already flagged when the session began
    wh = meter_stop - tx.meter_start_wh
    if wh < 0:
        flags.append(("register_backwards", {"start": tx.meter_start_wh, "stop": meter_stop}))
    elif not plausible(wh, tx.started_at, stopped_at):
        flags.append(("implausible_energy", {"wh": wh, "start": tx.meter_start_wh, "stop": meter_stop}))
    else:
        return Energy(wh)
    sampled = _sampled_energy(readings, meter_stop)
    if sampled is not None and plausible(sampled, tx.started_at, stopped_at):
        flags.append(("billed_from_samples", {"wh": sampled}))
        return Energy(sampled, tuple(flags))
    flags.append(("not_billed", {}))
    return Energy(0, tuple(flags), billable=False)


def _sampled_energy(readings: list[tuple[datetime, int]], meter_stop: int) -> int | None:
    """Energy between the first sampled reading and the stop (or last sample), if they are consistent."""
    values = [wh for _, wh in readings if wh > 0]
    if not values:
        return None
    end = meter_stop if meter_stop >= values[-1] else values[-1]
    if any(b < a for a, b in zip(values, values[1:])):
        return None
    return end - values[0]


def transaction_cost(session: Session, tx: Transaction, readings: list[tuple[datetime, int]]) -> Cost:
    """Cost of a finished session by its price snapshot (standard or spot); 0 when it is not billable."""
    if not tx.billable:
        return Cost(0, 0, 0, False)
    if tx.pricing_type == "spot":
        return spot_cost(session, tx, readings)
    return session_cost(tx.energy_wh, tx.energy_fee, tx.min_price_minor, tx.vat_rate_bp)
