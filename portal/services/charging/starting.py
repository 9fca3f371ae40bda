"""Starting a charging session for a person: one operation for the resident's start button and for
autostart on a personal charger.

Flask-free. `start_charging` decides (access.start_decision: access or ownership, charger enabled, the
person's tariff, the outlet's state) and places the start request (actions.place_remote_start: one per
outlet and tap); it flushes but never commits. The caller commits, and only then calls `enqueue_start`
(the web view) or hands the ids to action_queue.enqueue_after_commit (the OCPP node, for autostart).
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from sqlalchemy.orm import Session

from portal.models import User
from portal.services.charging import access

log = logging.getLogger(__name__)

# (connector_id, check_connector) -> the start decision, on facts the caller has already read
Decide = Callable[[int | None, bool], access.StartDecision]


def start_charging(session: Session, user: User, cp: Any, connector_id: int | None,
                   decide: Decide | None = None) -> int:
    """The start request's id for `user` at this outlet (or the charger, without one); raises
    actions.ActionRefused(reason). A refusal still lands on the person's own request (e.g. "occupied" by
    their fresh session). `cp` is a ChargePoint, or the start screen's ChargePointFacts with `decide`
    reading the decision from those facts instead of the database."""
    from portal.services.charging import actions  # looked up at call time: the tests stand in for the service

    connector_id = access.default_connector(cp, connector_id)
    check = connector_id is not None
    decision = decide(connector_id, check) if decide is not None else access.start_decision(
        session, user, cp, connector_id, check_connector=check)
    decision = access.start_refusal(cp, connector_id, decision)
    return actions.place_remote_start(session, user, cp.id, cp.identity, connector_id,
                                      None if decision.allowed else decision.reason)


def enqueue_start(redis_conn: Any, action_id: int) -> bool:
    """After the commit, hand the request to the workers; False (the request kept 'queued', to retry)
    when the queue is unreachable."""
    from portal.services.charging import action_queue, actions

    try:
        action_queue.enqueue_action(redis_conn, action_id)
    except actions.QueueUnavailable:
        log.warning("queue unavailable; action %s kept for retry", action_id)
        return False
    return True
