"""Holding a connector: which remote start or stop a tap on that connector lands on (issue 18).

A start or stop row is inserted with `holds_connector` set; the unique partial index
uq_action_requests_one_holding (portal.models.actions) lets one start and one stop hold each connector,
so two taps at the same moment cannot both insert. The flag outlives 'accepted':

- a start holds while it is pending, while the charger's StartTransaction is awaited, across the moment
  it is linked to its session (the link only sets transaction_id) and while that session runs;
- a stop holds while it is pending and until its StopTransaction.

It is let go when the request fails (actions.finish, actions._close_stuck), when its session ends
(actions.on_transaction_stopped), or when an accepted request saw no StartTransaction (StopTransaction)
within `accepted_hold()`; `let_go` does that for one connector (the next tap) and `let_go_everywhere`
for all (the sweep), on one rule (_STALE_HOLD). Flask-free; statements are built once, Core over the table.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, exists, or_, select, update
from sqlalchemy.orm import Session

from portal.models import ActionRequest, Transaction, User
from portal.models.actions import HOLDING_ACTIONS
from portal import settings

START, STOP = HOLDING_ACTIONS
PENDING_STATES = ("queued", "sent")
UNSUCCESSFUL_STATES = ("rejected", "failed", "timed_out", "charger_offline")
NO_START_TEXT = "the charger accepted the start, but no charging session began"


def accepted_hold() -> timedelta:
    """How long an accepted start (stop) holds its connector without the charger's StartTransaction
    (StopTransaction): ACTION_NO_START_AFTER_S, when the page says "charging never began"."""
    return timedelta(seconds=settings.get("action_no_start_after_s"))


def tap_window() -> timedelta:
    """A tap this soon after the same person's last request lands on it, whatever became of it."""
    return timedelta(seconds=settings.get("action_tap_window_s"))


_ar, _tx = ActionRequest.__table__.c, Transaction.__table__.c


def _outlet(with_connector: bool):
    """A start for the whole charger has no connector: "IS NULL" cannot be a parameter, hence two of each."""
    return _ar.connector_id == bindparam("outlet") if with_connector else _ar.connector_id.is_(None)


_SESSION_OVER = exists().where(_tx.id == _ar.transaction_id, _tx.status != "active")
_SESSION_RUNS = exists().where(_tx.id == _ar.transaction_id, _tx.status == "active")
_LATE = bindparam("late", type_=_ar.answered_at.type)
_NOW = bindparam("now", type_=_ar.updated_at.type)
_NEVER_BEGAN = and_(_ar.action == START, _ar.state == "accepted", _ar.transaction_id.is_(None),
                    _ar.answered_at < _LATE)
# A hold with nothing left to wait for: the request failed, its session is over, or it was accepted and
# the charger's StartTransaction (StopTransaction) did not follow within accepted_hold().
_STALE_HOLD = and_(_ar.holds_connector.is_(True), or_(
    _ar.state.in_(UNSUCCESSFUL_STATES), _SESSION_OVER, _NEVER_BEGAN,
    and_(_ar.action == STOP, _ar.state == "accepted", _ar.answered_at < _LATE)))
_LET_GO_VALUES = dict(holds_connector=False, updated_at=_NOW,
                      no_start_flag=case((_NEVER_BEGAN, True), else_=_ar.no_start_flag),
                      error=case((_NEVER_BEGAN, NO_START_TEXT), else_=_ar.error))
_LET_GO = {
    with_connector: update(ActionRequest.__table__).where(
        _STALE_HOLD, _ar.charge_point_id == bindparam("cp_id"), _outlet(with_connector),
        _ar.action == bindparam("what")).values(**_LET_GO_VALUES)
    for with_connector in (True, False)}
_LET_GO_EVERYWHERE = update(ActionRequest.__table__).where(_STALE_HOLD).values(**_LET_GO_VALUES)
_HOLDER = {
    with_connector: select(_ar.id, _ar.requested_by_id, _ar.state, _ar.transaction_id).where(
        _ar.charge_point_id == bindparam("cp_id"), _outlet(with_connector), _ar.action == bindparam("what"),
        _ar.holds_connector.is_(True))
    for with_connector in (True, False)}
# The person's own start of the last few seconds (whatever became of it, unless its session is over: a
# start after a stop is a new one), or the one whose session runs.
_OWN_START = {
    with_connector: select(_ar.id).where(
        _ar.charge_point_id == bindparam("cp_id"), _outlet(with_connector), _ar.action == START,
        _ar.requested_by_id == bindparam("user_id"),
        or_(and_(_ar.created_at >= bindparam("since", type_=_ar.created_at.type), ~_SESSION_OVER), _SESSION_RUNS))
    .order_by(_ar.id.desc()).limit(1)
    for with_connector in (True, False)}


def let_go(session: Session, cp_id: int, connector_id: int | None, action: str, now: datetime) -> None:
    """Free this connector of a stale hold for `action` (an accepted start that never began is flagged).

    Run it first in a tap's transaction: on SQLite this UPDATE takes the write lock, so the reads after it
    are current and taps are served one after the other; on PostgreSQL the unique index decides."""
    session.connection().execute(_LET_GO[connector_id is not None], {
        "cp_id": cp_id, "outlet": connector_id, "what": action, "now": now, "late": now - accepted_hold()})


def let_go_everywhere(session: Session, now: datetime) -> int:
    """The sweep: free every connector of its stale holds; returns how many."""
    return session.connection().execute(_LET_GO_EVERYWHERE, {"now": now, "late": now - accepted_hold()}).rowcount


def let_go_session(session: Session, transaction_id: int, now: datetime) -> None:
    """The session ended: its start and stop no longer hold the connector."""
    session.connection().execute(update(ActionRequest.__table__).where(
        _ar.transaction_id == transaction_id, _ar.holds_connector.is_(True)).values(holds_connector=False,
                                                                                      updated_at=now))


def holder(session: Session, cp_id: int, connector_id: int | None, action: str) -> Any:
    """The request holding this connector for `action` (id, requested_by_id, state, transaction_id), or None."""
    return session.connection().execute(_HOLDER[connector_id is not None], {
        "cp_id": cp_id, "outlet": connector_id, "what": action}).first()


def own_start(session: Session, user_id: int, cp_id: int, connector_id: int | None, now: datetime) -> int | None:
    """The user's start on this connector a tap lands on though it no longer holds: made within the tap
    window (its session not over), or with its session running."""
    return session.connection().execute(_OWN_START[connector_id is not None], {
        "cp_id": cp_id, "outlet": connector_id, "user_id": user_id, "since": now - tap_window()}).scalar()


def shares(user: User, held: Any) -> bool:
    """A tap may land on this holding request: the user's own, or a pending one when the user is staff
    (as before holds outlived 'accepted': past that, staff are told what the connector says)."""
    return held.requested_by_id == user.id or (user.is_staff and held.state in PENDING_STATES)
