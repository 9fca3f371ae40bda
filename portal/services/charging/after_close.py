"""Sessions support closed by hand that the charger still reports, and what the resident is told about them.

A hand close (portal.services.staff.stuck) ends the session in our books only; a charger that never heard
of it may go on charging. Whatever it reports about that session afterwards (MeterValues for its
transaction, a Charging status on its outlet) is recorded here, never billed: the energy beyond the
closure (`after_close_wh`) waits for support to look at it, and while the charger keeps reporting, support
(on /staff and the charger's page) and the resident (on the start screen) get a one-step remote stop.
The charger's own StopTransaction afterwards is still kept as an OrphanStop (ocpp_ingest); it ends the
alert and its reading completes the energy after the closure.

Flask-free: the OCPP node calls record_report / record_late_stop inside its group commit.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from portal.db import utcnow
from portal.models import ActionRequest, ChargePoint, Connector, Transaction, User
from portal.services.staff.roles import allowed

# A hand-closed session the charger reported this recently is still charging as far as we know.
STILL_REPORTING = timedelta(minutes=10)
CHARGING_STATUSES = ("Charging", "SuspendedEV", "SuspendedEVSE")


def _l(text: str) -> str:
    """Marks a text for the translation catalogues; pages translate it when shown."""
    return text


# What a resident may be told about a staff decision on their session: a code is stored, the text is shown
# in the resident's language. The staff member's own words (close_note) stay internal.
RESIDENT_REASONS = {
    "charger_no_stop": _l("The charger did not report the end of the session."),
    "charger_out_of_order": _l("The charger was out of order."),
    "charger_offline": _l("The charger lost its connection to us."),
    "resident_request": _l("Charging was stopped at your request."),
    "our_fault": _l("A fault on our side. You are not billed for it."),
}
GENERIC_REASON = _l("Our support team ended the session.")  # closures from before reasons had codes


def resident_text(tx: Transaction) -> str:
    """What the resident reads about a closure (untranslated msgid; pages translate it)."""
    return RESIDENT_REASONS.get(tx.resident_reason or "", GENERIC_REASON)


def is_hand_closed(tx: Transaction) -> bool:
    return not tx.is_active and tx.closed_by_support


# --- what the charger reports afterwards (the OCPP node, inside its batch) ------------------------------

def record_report(tx: Transaction, register_wh: int | None, now: datetime) -> None:
    """The charger reported this hand-closed session again: note when, and any energy beyond the closure."""
    if tx.after_close_stopped_at is not None:
        return
    tx.after_close_first_at = tx.after_close_first_at or now
    if tx.after_close_last_at is None or now > tx.after_close_last_at:
        tx.after_close_last_at = now
    _energy(tx, register_wh)


def record_late_stop(tx: Transaction, meter_stop: int, now: datetime) -> None:
    """The charger's own StopTransaction for a hand-closed session: the alert ends, its reading counts."""
    if tx.after_close_stopped_at is None:
        tx.after_close_stopped_at = now
    _energy(tx, meter_stop)


def _energy(tx: Transaction, register_wh: int | None) -> None:
    if register_wh is None or tx.meter_stop_wh is None:
        return
    extra = register_wh - tx.meter_stop_wh
    if extra > (tx.after_close_wh or 0):
        tx.after_close_wh = extra
        tx.after_close_reviewed_at = None  # more energy than support looked at: look again


def charging_status(session: Session, cp: ChargePoint, connector_id: int, now: datetime) -> None:
    """A Charging status on an outlet without an open session: its newest session, if closed by hand, is
    still being reported."""
    tx = session.scalar(select(Transaction).where(
        Transaction.charge_point_id == cp.id, Transaction.connector_id == connector_id)
        .order_by(Transaction.started_at.desc(), Transaction.id.desc()).limit(1))
    if tx is not None and is_hand_closed(tx):
        record_report(tx, None, now)


# --- what support and the resident see --------------------------------------------------------------------

def _still_reported_query(now: datetime):
    newer = aliased(Transaction)
    newest_on_outlet = ~exists().where(newer.charge_point_id == Transaction.charge_point_id,
                                       newer.connector_id == Transaction.connector_id,
                                       newer.started_at > Transaction.started_at)
    outlet_charging = exists().where(Connector.charge_point_id == Transaction.charge_point_id,
                                     Connector.connector_id == Transaction.connector_id,
                                     Connector.status.in_(CHARGING_STATUSES))
    return (select(Transaction).join(ChargePoint, ChargePoint.id == Transaction.charge_point_id)
            .where(Transaction.status == "completed", Transaction.close_note.is_not(None),
                   Transaction.after_close_stopped_at.is_(None),
                   newest_on_outlet,  # a later session on the outlet: this one is over there
                   or_(Transaction.after_close_last_at >= now - STILL_REPORTING,
                       and_(ChargePoint.online.is_(True), Transaction.after_close_reviewed_at.is_(None),
                            outlet_charging))))


def still_reported(session: Session, now: datetime | None = None, *, site_id: int | None = None,
                   charge_point_id: int | None = None, user_id: int | None = None,
                   limit: int = 100) -> list[Transaction]:
    """Hand-closed sessions the charger reported lately (or whose outlet still says it charges), with no
    StopTransaction from the charger yet: each one needs a remote stop."""
    query = _still_reported_query(now or utcnow())
    if site_id is not None:
        query = query.where(ChargePoint.site_id == site_id)
    if charge_point_id is not None:
        query = query.where(Transaction.charge_point_id == charge_point_id)
    if user_id is not None:
        query = query.where(Transaction.user_id == user_id)
    return list(session.scalars(query.order_by(Transaction.id.desc()).limit(limit)))


def is_still_reported(session: Session, tx: Transaction, now: datetime | None = None) -> bool:
    query = _still_reported_query(now or utcnow()).where(Transaction.id == tx.id)
    return session.scalar(query.with_only_columns(Transaction.id)) is not None


def energy_to_review(session: Session, site_id: int | None = None, charge_point_id: int | None = None,
                     limit: int = 100) -> list[Transaction]:
    """Hand-closed sessions with energy reported after the closure that support has not looked at."""
    query = (select(Transaction).join(ChargePoint, ChargePoint.id == Transaction.charge_point_id)
             .where(Transaction.after_close_wh > 0, Transaction.after_close_reviewed_at.is_(None)))
    if site_id is not None:
        query = query.where(ChargePoint.site_id == site_id)
    if charge_point_id is not None:
        query = query.where(Transaction.charge_point_id == charge_point_id)
    return list(session.scalars(query.order_by(Transaction.id.desc()).limit(limit)))


def mark_reviewed(session: Session, staff: User, tx: Transaction, reason: str, now: datetime | None = None) -> None:
    """Support looked at what the charger reported after the closure (the figures stay on the record)."""
    from portal.services.sites import audit

    if tx.after_close_reviewed_at is None:
        tx.after_close_reviewed_at = now or utcnow()
        audit.record(session, staff, tx.charge_point.site_id, "transaction", tx.id, "after_close_reviewed",
                     after={"after_close_wh": tx.after_close_wh}, area="staff", reason=reason)
    session.flush()


# --- the one-step stop --------------------------------------------------------------------------------------

def request_stop(session: Session, user: User, tx: Transaction, now: datetime | None = None) -> ActionRequest:
    """RemoteStopTransaction for a hand-closed session the charger still reports: its resident or support.

    Raises actions.ActionRefused (not_owner, not_reported, offline). A stop already on its way for the
    outlet is returned instead of a second one (the database keeps one pending stop per outlet)."""
    from portal.services.charging import actions
    from portal.services.sites import audit

    if tx.user_id != user.id and not allowed(user, "support"):
        raise actions.ActionRefused("not_owner")
    if not is_hand_closed(tx) or not is_still_reported(session, tx, now):
        raise actions.ActionRefused("not_reported")
    cp = tx.charge_point
    if not cp.online:
        raise actions.ActionRefused("offline")
    actions.let_go_stale(session, cp.id, tx.connector_id, actions.STOP, now or utcnow())  # a stale or overdue stop gives way
    pending = _pending_stop(session, cp, tx.connector_id)
    if pending is not None:
        return pending
    try:
        with session.begin_nested():
            row = actions.create_action(session, charge_point=cp, action=actions.STOP,
                                        payload={"transactionId": tx.id}, requested_by=user,
                                        connector_id=tx.connector_id, transaction_id=tx.id)
    except IntegrityError:  # a stop for this outlet was placed at the same moment
        row = _pending_stop(session, cp, tx.connector_id, any_deadline=True)
        if row is None:
            raise
        return row
    if allowed(user, "support"):
        row.reason = "stop of a session closed by hand that the charger still reports"
        audit.record(session, user, cp.site_id, "charge_point", cp.id, f"remote:{actions.STOP}",
                     after={"identity": cp.identity, "action_request": row.id, "payload": row.payload},
                     area="staff", reason=row.reason)
    session.flush()
    return row


def _pending_stop(session: Session, cp: ChargePoint, connector_id: int, any_deadline: bool = False):
    from portal.services.charging import actions

    query = select(ActionRequest).where(
        ActionRequest.charge_point_id == cp.id, ActionRequest.connector_id == connector_id,
        ActionRequest.action == actions.STOP, ActionRequest.state.in_(actions.PENDING_STATES))
    if not any_deadline:
        query = query.where(ActionRequest.deadline_at > utcnow())
    return session.scalar(query.order_by(ActionRequest.id.desc()).limit(1))
