"""Closing a stuck session: the charger never stopped it, so support closes it, billed or not.

The end reading is the last meter value seen ("last") or the start reading ("none": no energy). Billed:
the metered energy at the session's own price (its snapshot, minimum price included). Not billed: the
energy is kept for the record, the cost is 0 and no minimum price applies. The session is marked
closed by support (who and why) on the resident's receipt and in the board's report.

Never billed twice: only an active session can be closed (a second close is refused), and a
StopTransaction the charger sends afterwards is kept as an OrphanStop for review (ocpp_ingest).

The charger is asked first (issue 18): a running session is ended by a RemoteStopTransaction, so it closes
from the charger's own StopTransaction and is billed normally. Closing by hand is for a charger that cannot
or will not stop it: offline, or its stop request ended without success, or it accepted the stop and
still did not report the end after STOP_ANSWER_GRACE (`decide`). A charger that reported the session within
RECENT_REPORT may still be charging: then the close needs an explicit override with its own reason.
The resident is told one of after_close.RESIDENT_REASONS; the staff member's reason stays internal.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portal.db import ANNOUNCED, announce, utcnow
from portal.models import ActionRequest, MeterValue, Transaction, User
from portal.services.sites import audit
from portal.services.charging.after_close import RESIDENT_REASONS
from portal.services.charging.meter_flags import add_flag
from portal.services.charging.metering import ENERGY_REGISTER, register_readings, session_energy, transaction_cost
from portal.services.staff.roles import require

STOP_REASON = "ClosedBySupport"
END_READINGS = ("last", "none")
# The charger reported the session this recently: it may still be charging, so a hand close needs an override.
RECENT_REPORT = timedelta(minutes=5)
# An accepted stop should bring the charger's StopTransaction within this long; after it, closing by hand is offered.
STOP_ANSWER_GRACE = timedelta(minutes=2)
# Final states of a stop request in which the charger did not stop the session.
UNANSWERED_STOP_STATES = ("rejected", "failed", "timed_out", "charger_offline")


@dataclass(frozen=True)
class CloseDecision:
    """Whether support may close a running session by hand now, and what the page shows about the charger."""

    hand_close: bool
    why: str  # offline | stop_unanswered | stop_ignored (hand close offered); ask_charger | stop_pending |
    #           stop_accepted (ask the charger, or wait for its answer)
    stop: ActionRequest | None  # the newest stop request for the session
    last_report_at: datetime | None  # when (our clock) the charger last reported the session
    connector_status: str | None
    connector_status_at: datetime | None
    override_needed: bool  # reported within RECENT_REPORT


def last_report_at(session: Session, tx: Transaction) -> datetime | None:
    """When the charger last reported this session: its newest meter value as received, else its start."""
    received = session.scalar(select(func.max(MeterValue.received_at)).where(MeterValue.transaction_id == tx.id))
    return received or tx.created_at


def decide(session: Session, tx: Transaction, now: datetime | None = None) -> CloseDecision:
    """Ask the charger first: a hand close only when it is offline or did not stop the session when asked."""
    from portal.services.charging.sessions import pending_stop

    now = now or utcnow()
    cp = tx.charge_point
    stop = pending_stop(session, tx)
    if not cp.online:
        why = "offline"
    elif stop is None:
        why = "ask_charger"
    elif stop.state in UNANSWERED_STOP_STATES:
        why = "stop_unanswered"
    elif stop.state == "accepted":
        answered = _aware(stop.answered_at or stop.updated_at)
        why = "stop_ignored" if answered < now - STOP_ANSWER_GRACE else "stop_accepted"
    else:
        why = "stop_pending"
    reported = last_report_at(session, tx)
    conn = cp.connector(tx.connector_id)
    return CloseDecision(
        hand_close=why in ("offline", "stop_unanswered", "stop_ignored"), why=why, stop=stop,
        last_report_at=reported, connector_status=conn.status if conn else None,
        connector_status_at=conn.status_at if conn else None,
        override_needed=reported is not None and _aware(reported) >= now - RECENT_REPORT)


def hand_close_problem(decision: CloseDecision, override: bool, override_reason: str) -> str | None:
    """Why a hand close is not allowed now (a CloseRefused code), or None."""
    if not decision.hand_close:
        return "ask_charger_first"
    if decision.override_needed and not (override and (override_reason or "").strip()):
        return "override_required"
    return None


def _aware(moment: datetime) -> datetime:
    from datetime import timezone

    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


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
          resident_reason: str, override: bool = False, override_reason: str = "",
          now: datetime | None = None) -> Transaction:
    """Close an active session by hand for support; raises CloseRefused (not_active, reason_required,
    resident_reason_required, bad_choice, ask_charger_first, override_required)."""
    require(staff, "support")
    reason, override_reason = (reason or "").strip(), (override_reason or "").strip()
    if not reason:
        raise CloseRefused("reason_required")
    if resident_reason not in RESIDENT_REASONS:
        raise CloseRefused("resident_reason_required")
    if end_reading not in END_READINGS:
        raise CloseRefused("bad_choice")
    now = now or utcnow()
    if not tx.is_active:
        raise CloseRefused("not_active")
    decision = decide(session, tx, now)
    problem = hand_close_problem(decision, override, override_reason)
    if problem:
        raise CloseRefused(problem)
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
    tx.resident_reason = resident_reason
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
                        "billed": billed, "cost_minor": tx.cost_minor, "resident_reason": resident_reason,
                        "why_by_hand": decision.why, "last_report_at": decision.last_report_at,
                        "override": bool(decision.override_needed), "override_reason": override_reason or None},
                 area="staff", reason=reason)
    session.flush()
    return tx
