"""Charger action jobs: carry one ActionRequest to the OCPP node that holds the charger.

`run_action(action_id)` is safe to run twice, also at the same time: only the run that moves the
row from 'queued' to 'sent' (a conditional UPDATE, committed before the call leaves) hands the
call over. A run that dies after that leaves the row 'sent'; `sweep_actions` closes it after its
deadline. The call itself travels as described in ocpp_server/calls.py.
"""
from __future__ import annotations

import functools
import json
import logging
import time
import uuid
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import RedisError

from ocpp_server.calls import hand_over, reply_key
from portal import settings
from portal.db import Database, utcnow
from portal.models import ActionRequest
from portal.services.charging import actions
from portal.services.staff import secret_rotation

log = logging.getLogger(__name__)
REPLY_MARGIN_S = 2.0  # the node answers at the deadline at the latest; allow for the trip back

# Node answers -> final state of the request.
ERROR_STATES = {
    "not_connected": "charger_offline",
    "not_accepted": "failed",
    "expired": "timed_out",
    "timeout": "timed_out",
    "call_error": "failed",
    "connection_lost": "failed",
    "bad_call": "failed",
}


@functools.cache
def _database(url: str) -> Database:
    """One engine per worker process and database (SimpleWorker runs every job in this process)."""
    return Database.from_url(url)


@functools.cache
def _redis(url: str) -> Redis:
    """Reads may block for a whole call (BLPOP), longer than redis-py's default 5 s socket timeout."""
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=settings.action_job_timeout_s() + 10,
                          health_check_interval=30)


@dataclass(frozen=True)
class CallSpec:
    identity: str
    action: str
    payload: dict
    deadline: float  # epoch seconds


def call_charger(redis: Redis, spec: CallSpec) -> dict:
    """Hand the call to the node holding the charger and wait for its reply (see ocpp_server.calls)."""
    call_id = uuid.uuid4().hex
    request = {"id": call_id, "identity": spec.identity, "action": spec.action, "payload": spec.payload,
               "deadline": spec.deadline}
    node_id = hand_over(redis, spec.identity, json.dumps(request))  # one round trip: claim lookup + RPUSH
    if node_id is None:
        return {"status": "not_connected", "detail": "no OCPP node holds the charger"}
    wait = max(spec.deadline - time.time(), 0) + REPLY_MARGIN_S
    item = redis.blpop([reply_key(call_id)], timeout=wait)
    if item is None:
        return {"status": "timeout", "detail": f"no answer from OCPP node {node_id}"}
    return json.loads(item[1])


def run_action(action_id: int, database_url: str | None = None, redis_url: str | None = None) -> str:
    """Send one request to its charger and record the answer; returns the request's final state."""
    db = _database(database_url or settings.get("database_url"))
    redis = _redis(redis_url or settings.get("redis_url"))
    with db.session() as session:
        claimed = actions.claim_and_read(session, action_id)  # the claim and the call's facts, one statement
        if claimed is None:
            row = session.get(ActionRequest, action_id)
            if row is None:
                log.warning("action %s does not exist", action_id)
                return "missing"
            if row.state != "queued":
                return f"already {row.state}"
            actions.finish(session, action_id, "timed_out", from_states=("queued",),
                           error="not sent: its deadline passed while it waited in the queue")
            session.expire_all()
            return session.get(ActionRequest, action_id).state
        payload = dict(claimed.payload or {})
        rotation = claimed.pending_secret_hash is not None
        if rotation:  # a key rotation: the clear secret waits in Redis
            secret = secret_rotation.take_secret(redis, action_id)
            if secret is None:
                actions.finish(session, action_id, "failed", error="the new secret was no longer available; "
                               "nothing was sent; ask again with a new secret")
                secret_rotation.apply_outcome(session, action_id, maybe_delivered=False)
                session.commit()
                return "failed"
            payload["value"] = secret
        spec = CallSpec(claimed.identity, claimed.action, payload, claimed.deadline_at.timestamp())
    return _deliver(db, redis, action_id, spec, rotation)


def _deliver(db: Database, redis: Redis, action_id: int, spec: CallSpec, rotation: bool = True) -> str:
    """Call the charger and record the outcome; every failure after the claim ends in a final state.
    Only a key rotation (its row has a pending secret hash from the start) has more to record."""
    try:
        reply = call_charger(redis, spec)
    except RedisError as exc:
        reply = {"status": "call_error", "detail": f"Redis failed during the call: {exc}"}
    if reply.get("status") == "ok":
        response = reply.get("response") or {}
        state, error = actions.outcome_state(response), None
    else:
        response, state = None, ERROR_STATES.get(reply.get("status"), "failed")
        error = reply.get("detail") or reply.get("status")
    with db.session() as session:
        actions.finish(session, action_id, state, response=response, error=error)
        if rotation and secret_rotation.apply_outcome(session, action_id):
            log.info("action %s: %s accepted the new secret; its record now holds the new hash", action_id,
                     spec.identity)
        session.commit()
    log.info("action %s %s on %s -> %s", action_id, spec.action, spec.identity, state)
    return state


def sweep_actions(database_url: str | None = None) -> dict[str, int]:
    """Periodic: close requests stuck past their deadline; flag accepted starts that never began."""
    db = _database(database_url or settings.get("database_url"))
    with db.session() as session:
        counts = actions.sweep(session, utcnow())
        session.commit()
    if any(counts.values()):
        log.info("swept charger actions: %s", counts)
    return counts
