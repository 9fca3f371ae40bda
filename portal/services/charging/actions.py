"""Charger actions: a page asks, a row records it, a worker carries it to the charger.

Flask-free. Functions take a Session and flush but never commit; the caller commits, and only
then calls `action_queue.enqueue_action` (a job for a row that is not committed yet could find
nothing). What the OCPP node calls inside its transaction is in `action_hooks`.

States (portal.models.actions): queued -> sent -> accepted | rejected | failed | timed_out |
charger_offline. `queued -> sent` is a conditional UPDATE committed before the call is handed
to an OCPP node, so a start or stop is sent at most once, whatever RQ does with the job.

Holding a connector (double taps, issue 18; the rule in portal.services.charging.connector_holds): a remote
start or stop is inserted holding its connector, and a unique partial index lets one start and one
stop hold each connector, so taps at the same moment cannot both insert. The hold outlives
'accepted' (until the session ends, or NO_START_AFTER_S without the charger's StartTransaction /
StopTransaction). Every tap of the same person lands on the holding request, or on their own request
of the last few seconds (START_TAP_WINDOW_S) whatever became of it; anyone else's tap is "occupied".
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import ActionRequest, ChargePoint, IdTag, Transaction, User
from portal.services.charging import access
from portal.services.charging import connector_holds as holds
from portal.services.sites.onboarding import virtual_tag
from portal.services.people.secrets import REDACTED, hide_secret_values, is_secret_key
from portal import settings

log = logging.getLogger(__name__)

START = "RemoteStartTransaction"
STOP = "RemoteStopTransaction"
AVAILABILITY = "ChangeAvailability"
STAFF_ACTIONS = ("Reset", "UnlockConnector", "TriggerMessage", "GetConfiguration", "ChangeConfiguration",
                 "ClearCache", AVAILABILITY, START, STOP, "GetCompositeSchedule")  # the last: issue 22
FLEET_ACTIONS = ("UpdateFirmware", "GetDiagnostics")  # made by firmware rollouts and diagnostics requests
ACTIONS = frozenset(STAFF_ACTIONS + FLEET_ACTIONS)
PENDING_STATES = ("queued", "sent")
HOLDING_ACTIONS = (START, STOP)
# Charger answers that mean "done as asked", per action (anything else is a refusal).
ACCEPTING_STATUSES = {"Accepted", "Scheduled", "RebootRequired", "Unlocked"}
RUN_JOB = "worker.jobs.charger.run_action"
LINK_WINDOW = timedelta(minutes=10)


class ActionRefused(Exception):
    """The request may not be made; `reason` is an access.REASONS code or one of this module's."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class QueueUnavailable(RuntimeError):
    """Redis did not take the job; the request row stays 'queued' and can be enqueued again."""


# --- creating requests -------------------------------------------------------------------------

def create_action(session: Session, *, charge_point: ChargePoint, action: str, payload: dict,
                  requested_by: User | None = None, connector_id: int | None = None,
                  transaction_id: int | None = None, holds: bool = True) -> ActionRequest:
    """A new 'queued' request with its deadline (flushed, not committed); a start or stop holds its connector."""
    if action not in ACTIONS:
        raise ValueError(f"unknown charger action {action!r}")
    now = utcnow()
    row = ActionRequest(
        charge_point_id=charge_point.id, action=action, payload=dict(payload), state="queued",
        requested_by_id=requested_by.id if requested_by else None, connector_id=connector_id,
        transaction_id=transaction_id, holds_connector=holds and action in HOLDING_ACTIONS,
        deadline_at=now + timedelta(seconds=settings.get("action_deadline_s")), created_at=now, updated_at=now,
    )
    session.add(row)
    session.flush()
    return row


def request_remote_start(session: Session, user: User, charge_point: ChargePoint,
                         connector_id: int | None) -> ActionRequest:
    """Start charging for this user with their virtual id tag (starting.start_charging, the resident's start
    button's operation); raises ActionRefused(reason)."""
    from portal.services.charging.starting import start_charging

    return session.get(ActionRequest, start_charging(session, user, charge_point, connector_id))


_ar, _tag = ActionRequest.__table__.c, IdTag.__table__.c
_VIRTUAL_TAG = select(_tag.tag).where(_tag.user_id == bindparam("user_id"), _tag.kind == "virtual")
# The unique partial index (uq_action_requests_one_holding) decides between taps at the same moment:
# the loser's INSERT does nothing (no savepoint, no exception) and returns no id.
_INSERT_START = {dialect: insert(ActionRequest.__table__).on_conflict_do_nothing().returning(_ar.id)
                 for dialect, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}


def let_go_stale(session: Session, cp_id: int, connector_id: int | None, action: str, now: datetime) -> None:
    """Free the connector of a stale hold (first: the write lock on SQLite), and close a pending request
    past its deadline."""
    holds.let_go(session, cp_id, connector_id, action, now)
    _close_overdue(session, cp_id, action, connector_id, now)


def place_remote_start(session: Session, user: User, cp_id: int, identity: str, connector_id: int | None,
                       refusal: str | None = None) -> int:
    """The start request for this user and outlet; returns its id, or raises ActionRefused.

    `refusal` is the start decision's reason when it says no (access.decide_start), or None. A tap of
    the same person lands on the request holding the outlet, or on their own of the last few seconds or
    whose session runs, whatever the decision says ("occupied" by their own fresh session is theirs);
    otherwise the refusal stands, and a hold of someone else is "occupied" (staff share it). Taps at the
    same moment: the database keeps one (see _INSERT_START) and the loser reads the winner's row.
    Flushes, never commits."""
    now = utcnow()
    let_go_stale(session, cp_id, connector_id, START, now)
    holder = holds.holder(session, cp_id, connector_id, START)
    if holder is not None and holds.shares(user, holder):
        return _landed(identity, connector_id, holder.id)
    own = holds.own_start(session, user.id, cp_id, connector_id, now)
    if own is not None:
        return _landed(identity, connector_id, own)
    if refusal is not None:
        raise ActionRefused(refusal)
    if holder is not None:
        raise ActionRefused("occupied")
    conn = session.connection()
    tag = conn.execute(_VIRTUAL_TAG, {"user_id": user.id}).scalar() or virtual_tag(session, user).tag
    payload: dict[str, Any] = {"idTag": tag}
    if connector_id is not None:
        payload["connectorId"] = connector_id
    new_id = conn.execute(_INSERT_START[session.get_bind().dialect.name], dict(
        charge_point_id=cp_id, action=START, payload=payload, state="queued", requested_by_id=user.id,
        connector_id=connector_id, transaction_id=None, holds_connector=True, no_start_flag=False,
        deadline_at=now + timedelta(seconds=settings.get("action_deadline_s")), created_at=now, updated_at=now)).scalar()
    if new_id is not None:
        return new_id
    winner = holds.holder(session, cp_id, connector_id, START)
    if winner is None:
        raise RuntimeError(f"start for {identity} connector {connector_id} conflicted, but no holding request is left")
    if not holds.shares(user, winner):
        raise ActionRefused("occupied")
    return _landed(identity, connector_id, winner.id)


def _landed(identity: str, connector_id: int | None, action_id: int) -> int:
    log.info("%s connector %s: start tapped again, same request %s", identity, connector_id, action_id)
    return action_id


def _close_overdue(session: Session, cp_id: int, action: str, connector_id: int | None, now: datetime) -> None:
    """Pending requests for this connector past their deadline are closed now, not at the next sweep."""
    for row in session.scalars(select(ActionRequest).where(
            ActionRequest.charge_point_id == cp_id, ActionRequest.connector_id.is_(None) if connector_id is None
            else ActionRequest.connector_id == connector_id,
            ActionRequest.action == action, ActionRequest.state.in_(PENDING_STATES),
            ActionRequest.deadline_at <= now)):
        _close_stuck(row, now)
    session.flush()


def request_remote_stop(session: Session, user: User, transaction: Transaction) -> ActionRequest:
    """Stop a running session: its owner or staff; raises ActionRefused(reason).

    A tap lands on the stop holding the connector for this session (pending, or accepted while its
    StopTransaction is awaited), or on a stop of this session from the last few seconds."""
    tx = transaction
    if tx.user_id != user.id and not user.is_staff:
        raise ActionRefused("not_owner")
    if not tx.is_active:
        raise ActionRefused("not_active")
    cp = tx.charge_point
    if not cp.online:
        raise ActionRefused("offline")
    now = utcnow()
    let_go_stale(session, cp.id, tx.connector_id, STOP, now)
    holder = holds.holder(session, cp.id, tx.connector_id, STOP)
    if holder is not None and holder.transaction_id == tx.id:
        return session.get(ActionRequest, holder.id)
    again = session.scalar(select(ActionRequest).where(
        ActionRequest.charge_point_id == cp.id, ActionRequest.action == STOP, ActionRequest.transaction_id == tx.id,
        ActionRequest.created_at >= now - holds.tap_window()).order_by(ActionRequest.id.desc()).limit(1))
    if again is not None:
        return again

    def create() -> ActionRequest:
        return create_action(session, charge_point=cp, action=STOP, payload={"transactionId": tx.id},
                             requested_by=user, connector_id=tx.connector_id, transaction_id=tx.id)

    return _one_per_connector(session, user, cp, STOP, tx.connector_id, create)


def _one_per_connector(session: Session, user: User, cp: ChargePoint, action: str, connector_id: int | None,
                       create: Any) -> ActionRequest:
    """Create the request unless one already holds the connector (taps at the same moment).

    The unique partial index decides between concurrent taps: the losers find the winner's row.
    A tap on someone else's request is refused as occupied."""
    try:
        with session.begin_nested():
            return create()
    except IntegrityError:
        holder = holds.holder(session, cp.id, connector_id, action)
        if holder is None:
            raise
        if not holds.shares(user, holder):
            raise ActionRefused("occupied") from None
        log.info("%s connector %s: %s tapped again, same request %s", cp.identity, connector_id, action, holder.id)
        return session.get(ActionRequest, holder.id)


def request_availability(session: Session, user: User, charge_point: ChargePoint, operative: bool) -> ActionRequest:
    """ChangeAvailability for the whole charger: board members of its site and staff."""
    if not (user.is_staff or access.can_manage_site(session, user, charge_point.site_id)):
        raise ActionRefused("no_access")
    payload = {"connectorId": 0, "type": "Operative" if operative else "Inoperative"}
    return create_action(session, charge_point=charge_point, action=AVAILABILITY, payload=payload,
                         requested_by=user, connector_id=0)


def payload_problem(action: str, payload: dict) -> str | None:
    """The first OCPP 1.6 schema violation of a request payload, or None."""
    from ocpp.messages import MessageType, get_validator

    validator = get_validator(MessageType.Call, action, "1.6")
    error = next(iter(validator.iter_errors(payload)), None)
    return None if error is None else error.message[:200]


def request_action(session: Session, user: User, charge_point: ChargePoint, action: str, payload: dict,
                   connector_id: int | None = None) -> ActionRequest:
    """Any supported call, for support staff (Reset, UnlockConnector, TriggerMessage, configuration ...)."""
    if not user.is_staff:
        raise ActionRefused("staff_only")
    if action not in STAFF_ACTIONS:  # firmware and diagnostics go through their own pages (portal/services/fleet)
        raise ActionRefused("unknown_action")
    if payload_problem(action, payload):
        raise ActionRefused("invalid_payload")
    if action == "ChangeConfiguration" and is_secret_key(payload.get("key")) and payload.get("value") != REDACTED:
        raise ActionRefused("secret_rotation_only")  # the clear secret never reaches a row: see secret_rotation
    if connector_id is None and isinstance(payload.get("connectorId"), int):
        connector_id = payload["connectorId"]
    if action not in HOLDING_ACTIONS:
        return create_action(session, charge_point=charge_point, action=action, payload=payload,
                             requested_by=user, connector_id=connector_id)
    return _staff_start_or_stop(session, user, charge_point, action, payload, connector_id)


def _staff_start_or_stop(session: Session, user: User, cp: ChargePoint, action: str, payload: dict,
                         connector_id: int | None) -> ActionRequest:
    """As before holds outlived 'accepted': a staff start or stop is refused by the database only while
    another is pending (queued/sent); past that it is sent without holding the connector."""
    let_go_stale(session, cp.id, connector_id, action, utcnow())
    try:
        with session.begin_nested():
            return create_action(session, charge_point=cp, action=action, payload=payload,
                                 requested_by=user, connector_id=connector_id)
    except IntegrityError:
        holder = holds.holder(session, cp.id, connector_id, action)
        if holder is None or holder.state in PENDING_STATES:
            raise
    return create_action(session, charge_point=cp, action=action, payload=payload, requested_by=user,
                         connector_id=connector_id, holds=False)


def retry_action(session: Session, action_request: ActionRequest) -> ActionRequest:
    """Make a kept 'queued' request sendable again (fresh deadline); the caller commits, then enqueues."""
    if action_request.state != "queued":
        raise ActionRefused("not_queued")
    action_request.deadline_at = utcnow() + timedelta(seconds=settings.get("action_deadline_s"))
    session.flush()
    return action_request


# --- state transitions used by the worker ------------------------------------------------------

def claim_for_sending(session: Session, action_id: int, now: datetime | None = None) -> bool:
    """queued -> sent, only if still queued and before the deadline; commits. True when this caller won."""
    return claim_and_read(session, action_id, now) is not None


_cp = ChargePoint.__table__.c
_when = bindparam("now", type_=ActionRequest.__table__.c.sent_at.type)
# Built once: the claim and everything the call needs in one statement (UPDATE ... RETURNING, the
# charger's identity by a subquery), instead of a SELECT of the row, the UPDATE and a SELECT of the charger.
_CLAIM = (update(ActionRequest.__table__)
          .where(_ar.id == bindparam("action_id"), _ar.state == "queued", _ar.deadline_at > _when)
          .values(state="sent", sent_at=_when, updated_at=_when)
          .returning(_ar.action, _ar.payload, _ar.deadline_at, _ar.pending_secret_hash,
                     select(_cp.identity).where(_cp.id == _ar.charge_point_id).scalar_subquery().label("identity")))


def claim_and_read(session: Session, action_id: int, now: datetime | None = None):
    """claim_for_sending, returning what the call needs (action, payload, deadline_at, pending_secret_hash,
    identity) when this caller won, else None; commits."""
    claimed = session.connection().execute(_CLAIM, {"action_id": action_id, "now": now or utcnow()}).first()
    session.commit()
    return claimed


def finish(session: Session, action_id: int, state: str, *, from_states: tuple[str, ...] = ("sent",),
           response: dict | None = None, error: str | None = None) -> bool:
    """Move a request to a final state if it is still in one of `from_states`; commits. An AuthorizationKey
    in the answer (a GetConfiguration that shows it) is stored blanked."""
    now = utcnow()
    response = hide_secret_values(response) if response is not None else None
    values: dict[str, Any] = dict(state=state, response=response, error=error, answered_at=now, updated_at=now)
    if state != "accepted":  # a refused or failed start/stop no longer holds its connector
        values["holds_connector"] = False
    changed = session.execute(
        update(ActionRequest)
        .where(ActionRequest.id == action_id, ActionRequest.state.in_(from_states))
        .values(**values)
    ).rowcount
    session.commit()
    if changed:
        log.info("action %s -> %s%s", action_id, state, f" ({error})" if error else "")
    return bool(changed)


def outcome_state(response: dict) -> str:
    """accepted or rejected, from the charger's answer (GetConfiguration has no status: accepted)."""
    status = response.get("status")
    return "accepted" if status is None or status in ACCEPTING_STATUSES else "rejected"


def sweep(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Close what nobody will close: requests stuck past their deadline, and flag starts that never began."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=settings.get("action_sweep_grace_s"))
    counts = {"sent": 0, "queued": 0, "no_start": 0, "let_go": 0}
    for row in session.scalars(select(ActionRequest).where(
            ActionRequest.state.in_(PENDING_STATES), ActionRequest.deadline_at < cutoff)):
        counts[row.state] += 1
        _close_stuck(row, now)
    late = now - holds.accepted_hold()
    for row in session.scalars(select(ActionRequest).where(
            ActionRequest.action == START, ActionRequest.state == "accepted",
            ActionRequest.transaction_id.is_(None), ActionRequest.no_start_flag.is_(False),
            ActionRequest.answered_at < late, ActionRequest.answered_at > late - LINK_WINDOW)):
        row.no_start_flag, row.updated_at, row.error = True, now, holds.NO_START_TEXT
        row.holds_connector = False
        counts["no_start"] += 1
    session.flush()
    counts["let_go"] = holds.let_go_everywhere(session, now)
    return counts


def _close_stuck(row: ActionRequest, now: datetime) -> None:
    """A pending request past its deadline: nothing will answer it any more."""
    if row.state == "sent" and row.transaction_id is not None and row.action == START:
        row.state, row.error = "accepted", "no answer recorded, but the charger started the session"
        row.answered_at, row.updated_at = now, now
        return
    row.holds_connector = False
    if row.state == "sent":
        row.state = "timed_out"
        row.error = "no answer recorded before the deadline (worker or OCPP node stopped); " \
                    "it was sent at most once"
    else:
        row.state, row.error = "timed_out", "not sent: no worker took the request before its deadline"
    row.answered_at, row.updated_at = now, now
