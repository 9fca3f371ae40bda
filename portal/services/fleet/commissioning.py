"""The commissioning checklist of one charger, filled in by what the charger itself does.

Five steps, each passed or not with the fact that shows it: the boot was accepted; its configuration
template is in place (every key accepted or already so); heartbeats arrive at the interval it was given;
a test session brought plausible meter values (the register going up, power and per-phase current within
what a charger can do); the residents' tags are on its local list. All five: "ready". Read-only."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import ChargePoint, LocalListState, MeterValue, OcppMessage, Transaction
from portal.services.fleet import config_templates as templates

STEPS = ("booted", "configured", "heartbeats", "test_session", "local_list")
MAX_POWER_W = Decimal(350_000)
MAX_CURRENT_A = Decimal(80)


@dataclass
class Step:
    code: str
    done: bool
    facts: dict = field(default_factory=dict)


@dataclass
class Checklist:
    steps: list[Step]

    @property
    def ready(self) -> bool:
        return all(step.done for step in self.steps)


def booted(cp: ChargePoint) -> Step:
    return Step("booted", cp.boot_status == "Accepted" and cp.booted_at is not None,
                {"at": cp.booted_at, "vendor": cp.vendor, "model": cp.model})


def configured(session: Session, cp: ChargePoint) -> Step:
    chosen = templates.template_for(session, cp.vendor, cp.model)
    answers = templates.keys_of(session, cp.id)
    missing = [key for key, _ in chosen.entries if key not in answers]
    wrong = [row.key for row in answers.values() if row.status not in ("Accepted", "InPlace")]
    return Step("configured", bool(answers) and not missing and not wrong,
                {"keys": len(chosen.entries), "missing": missing, "wrong": wrong})


def interval_of(session: Session, cp: ChargePoint) -> int:
    row = templates.keys_of(session, cp.id).get("HeartbeatInterval")
    if row is not None and row.status in templates.GOOD and row.wanted.isdigit():
        return int(row.wanted)
    return cp.heartbeat_interval


def heartbeats(session: Session, cp: ChargePoint, now: datetime) -> Step:
    """At least three heartbeats since the boot, none further apart than half again the interval, the last recent."""
    interval = interval_of(session, cp)
    times = list(session.scalars(select(OcppMessage.created_at).where(
        OcppMessage.identity == cp.identity, OcppMessage.action == "Heartbeat", OcppMessage.direction == "in",
        OcppMessage.message_type == 2, *([OcppMessage.created_at >= cp.booted_at] if cp.booted_at else []))
        .order_by(OcppMessage.created_at.desc()).limit(3)))
    slack = interval * 1.5 + 2
    gaps = [(a - b).total_seconds() for a, b in zip(times, times[1:])]
    recent = bool(times) and (now - times[0]).total_seconds() <= interval * 2 + 2
    return Step("heartbeats", len(times) == 3 and recent and all(g <= slack for g in gaps),
                {"interval": interval, "last": times[0] if times else None})


def test_session(session: Session, cp: ChargePoint) -> Step:
    """The newest session with meter values: energy up, power and per-phase current plausible."""
    for tx in session.scalars(select(Transaction).where(Transaction.charge_point_id == cp.id)
                              .order_by(Transaction.id.desc()).limit(5)):
        rows = session.execute(select(MeterValue.measurand, MeterValue.value, MeterValue.phase).where(
            MeterValue.transaction_id == tx.id)).all()
        power = [v for m, v, _ in rows if m == "Power.Active.Import"]
        phases = {p for m, _, p in rows if m == "Current.Import" and p}
        currents = [v for m, v, p in rows if m == "Current.Import"]
        energy = max((tx.meter_stop_wh or tx.meter_last_wh or tx.meter_start_wh) - tx.meter_start_wh, 0)
        if not rows:
            continue
        plausible = energy > 0 and any(0 < p <= MAX_POWER_W for p in power) and len(phases) >= 1 \
            and all(0 <= c <= MAX_CURRENT_A for c in currents)
        return Step("test_session", plausible, {"transaction": tx.id, "energy_wh": energy,
                                                "phases": sorted(phases), "power_w": max(power, default=None)})
    return Step("test_session", False, {})


def local_list_step(session: Session, cp: ChargePoint) -> Step:
    state = session.get(LocalListState, cp.id)
    done = state is not None and state.outcome == "Accepted" and state.version > 0
    return Step("local_list", done, {"version": state.version if state else 0,
                                     "tags": len(state.tags or []) if state else 0,
                                     "at": state.sent_at if state else None})


def checklist(session: Session, cp: ChargePoint, now: datetime | None = None) -> Checklist:
    now = now or utcnow()
    return Checklist([booted(cp), configured(session, cp), heartbeats(session, cp, now), test_session(session, cp),
                      local_list_step(session, cp)])
