"""Closing a stuck session: the charger never stopped it, so support closes it, billed or not.

The end reading is the last meter value seen ("last") or the start reading ("none": no energy). Billed:
the metered energy at the session's own price (its snapshot, minimum price included). Not billed: the
energy is kept for the record, the cost is 0 and no minimum price applies. The session is marked
closed by support (who and why) on the resident's receipt and in the board's report.

Never billed twice: only an active session can be closed (a second close is refused), and a
StopTransaction the charger sends afterwards is kept as an OrphanStop for review (ocpp_ingest).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portal.db import ANNOUNCED, announce, utcnow
from portal.models import MeterValue, Transaction, User
from portal.services import audit
from portal.services.meter_flags import add_flag
from portal.services.metering import ENERGY_REGISTER, register_readings, session_energy, transaction_cost
from portal.services.staff.roles import require

STOP_REASON = "ClosedBySupport"
END_READINGS = ("last", "none")


class CloseRefused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def last_reading(session: Session, tx: Transaction) -> tuple[int | None, datetime | None]:
    """The newest sane energy reading of the session (Wh) and when it was taken."""
    at = session.scalar(select(func.max(MeterValue.timestamp)).where(
        MeterValue.transaction_id == tx.id, MeterValue.measurand == ENERGY_REGISTER))
    return tx.meter_last_wh, at


def close(session: Session, staff: User, tx: Transaction, *, end_reading: str, billed: bool, reason: str,
          now: datetime | None = None) -> Transaction:
    """Close an active session for support; raises CloseRefused (not_active, reason_required, bad_choice)."""
    require(staff, "support")
    reason = (reason or "").strip()
    if not reason:
        raise CloseRefused("reason_required")
    if end_reading not in END_READINGS:
        raise CloseRefused("bad_choice")
    now = now or utcnow()
    # Claim the session with a conditional UPDATE: of two closes (or a close racing the charger's stop)
    # exactly one moves it out of 'active'.
    won = session.execute(update(Transaction).where(Transaction.id == tx.id, Transaction.status == "active")
                          .values(status="completed", stop_key=f"support-{tx.id}")
                          .execution_options(**ANNOUNCED)).rowcount
    if not won:
        raise CloseRefused("not_active")
    announce(session, charge_points=[tx.charge_point_id])  # the node holding the charger drops its open session
    session.refresh(tx)
    last_wh, last_at = last_reading(session, tx)
    if end_reading == "last" and last_wh is not None:
        meter_stop, stopped_at = last_wh, last_at or now
    else:
        meter_stop, stopped_at = tx.meter_start_wh, now
    tx.meter_stop_wh, tx.stop_reason = meter_stop, STOP_REASON
    tx.stopped_at = max(stopped_at, tx.started_at)
    tx.closed_by_id, tx.close_note, tx.close_billed = staff.id, reason, billed
    readings = register_readings(session, tx)
    energy = session_energy(tx, meter_stop, tx.stopped_at, readings)
    tx.energy_wh = energy.wh
    for code, details in energy.flags:
        add_flag(tx, code, **details)
    tx.billable = billed
    if billed:
        cost = transaction_cost(session, tx, readings)
        tx.cost_minor, tx.vat_minor = cost.total_minor, cost.vat_minor
    else:
        tx.cost_minor, tx.vat_minor = 0, 0
    audit.record(session, staff, tx.charge_point.site_id, "transaction", tx.id, "closed_by_support",
                 after={"end_reading": end_reading, "meter_stop_wh": meter_stop, "energy_wh": tx.energy_wh,
                        "billed": billed, "cost_minor": tx.cost_minor}, area="staff", reason=reason)
    session.flush()
    return tx
