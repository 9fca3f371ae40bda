"""What the OCPP node tells the charger actions inside its own transaction (portal.services.ocpp_ingest):
a StartTransaction links the remote start it answers, a StopTransaction lets the session's requests go,
and a car plugged into a personal charger without authentication starts for its owner (autostart)."""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import ActionRequest, ChargePoint, Transaction
from portal.services.charging import connector_holds as holds
from portal.services.charging.actions import LINK_WINDOW, START, STOP, ActionRefused, request_remote_start

log = logging.getLogger(__name__)


def on_transaction_started(session: Session, transaction: Transaction) -> ActionRequest | None:
    """Link the remote start this session answers (same id tag and connector) so the page shows charging."""
    tx = transaction
    candidates = session.scalars(select(ActionRequest).where(
        ActionRequest.charge_point_id == tx.charge_point_id, ActionRequest.action == START,
        ActionRequest.transaction_id.is_(None), ActionRequest.state.in_(("sent", "accepted", "timed_out")),
        ActionRequest.created_at > utcnow() - LINK_WINDOW,
    ).order_by(ActionRequest.id.desc()))
    for row in candidates:
        if (row.payload or {}).get("idTag") != tx.id_tag:
            continue
        if row.connector_id not in (None, tx.connector_id):
            continue
        row.transaction_id, row.updated_at = tx.id, utcnow()
        if row.no_start_flag:
            row.no_start_flag, row.error = False, "the session began later than expected"
        if row.state == "timed_out":  # the answer was lost, but the charger did start
            row.state, row.error = "accepted", "no answer arrived in time, but the charger started the session"
        session.flush()
        return row
    return None


def on_transaction_stopped(session: Session, transaction: Transaction) -> ActionRequest | None:
    """The session's start and stop let go of the connector; a stop whose answer was lost is shown as done."""
    holds.let_go_session(session, transaction.id, utcnow())
    row = session.scalar(select(ActionRequest).where(
        ActionRequest.action == STOP, ActionRequest.transaction_id == transaction.id,
        ActionRequest.state == "timed_out").order_by(ActionRequest.id.desc()).limit(1))
    if row is not None:
        row.state, row.error = "accepted", "no answer arrived in time, but the charger stopped the session"
        row.updated_at = utcnow()
        session.flush()
    return row


def on_connector_status(session: Session, charge_point: ChargePoint, connector_id: int,
                        status: str) -> list[int] | None:
    """Autostart: a car plugged into a personal charger without authentication starts for its owner.

    Returns the action ids to enqueue after the OCPP handler commits."""
    cp = charge_point
    if status != "Preparing" or connector_id < 1 or not cp.autostart or cp.owner is None:
        return None
    active = session.scalar(select(Transaction.id).where(
        Transaction.charge_point_id == cp.id, Transaction.connector_id == connector_id,
        Transaction.status == "active"))
    if active is not None:
        return None
    try:
        row = request_remote_start(session, cp.owner, cp, connector_id)
    except ActionRefused as exc:
        log.info("%s connector %s: no autostart (%s)", cp.identity, connector_id, exc.reason)
        return None
    log.info("%s connector %s: autostart for the owner (action %s)", cp.identity, connector_id, row.id)
    return [row.id]
