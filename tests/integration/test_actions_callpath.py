"""The call path in one process: a real OCPP node (ocpp_server.calls serving from real Redis), real
simulated chargers over WebSockets, and the worker's run_action job run in a thread."""
from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import func, select

from ocpp_server.calls import claim_key
from portal import settings
from portal.db import utcnow
from portal.models import ActionRequest, OcppMessage, Transaction
from portal.services.charging import actions
from tests.factories import make_user, resident_with_access
from tests.integration.ocpp_helpers import eventually, ocpp_node, query, run, simulator, until
from worker.jobs.charger import run_action, sweep_actions


@pytest.fixture
def setup(session):
    site, user, cp = resident_with_access(session)
    cp.connectors.append(type(cp.connectors[0])(connector_id=2))
    session.commit()
    return cp.identity, cp.id, user.id


def _request(db, cp_id, user_id, connector_id=1, deadline_s=None):
    from portal.models import ChargePoint, User

    with db.session() as s:
        row = actions.request_remote_start(s, s.get(User, user_id), s.get(ChargePoint, cp_id), connector_id)
        if deadline_s is not None:
            row.deadline_at = utcnow() + timedelta(seconds=deadline_s)
        s.commit()
        return row.id


def _staff_request(db, cp_id, action, payload, deadline_s=None):
    from portal.models import ChargePoint

    with db.session() as s:
        staff = make_user(s, staff_role="support")
        row = actions.request_action(s, staff, s.get(ChargePoint, cp_id), action, payload)
        if deadline_s is not None:
            row.deadline_at = utcnow() + timedelta(seconds=deadline_s)
        s.commit()
        return row.id


def _row(db, action_id):
    with db.session() as s:
        return s.get(ActionRequest, action_id)


async def _job(database_url, redis_url, action_id):
    return await asyncio.to_thread(run_action, action_id, database_url, redis_url)


async def _renew_until(refresh, node, done, what: str) -> None:
    """Run the claim-renewal loop until ``done()`` holds (its first pass does the work), then stop it.

    Waits on the outcome, not for a fixed time: on a busy machine the first pass may take a while."""
    task = asyncio.create_task(refresh(node))
    try:
        await until(done, timeout=20, what=what)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _sent_count(db, identity, action):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(OcppMessage).where(
            OcppMessage.identity == identity, OcppMessage.direction == "out", OcppMessage.action == action))


def test_start_accepted_then_charging_then_stop(db, database_url, redis_url, setup):
    identity, cp_id, user_id = setup

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, identity, connectors=2) as sim:
                await eventually(db, lambda s: Redis.from_url(redis_url).get(claim_key(identity)) == b"test-node")
                action_id = _request(db, cp_id, user_id, connector_id=2)
                assert await _job(database_url, redis_url, action_id) == "accepted"
                assert await _job(database_url, redis_url, action_id) == "already accepted"  # a retried job
                row = await eventually(db, lambda s: (r := s.get(ActionRequest, action_id)).transaction_id and r)
                tx = await query(db, lambda s: s.get(Transaction, row.transaction_id))
                assert tx.status == "active" and tx.connector_id == 2 and row.response == {"status": "Accepted"}
                assert sim.calls_received.count(("RemoteStartTransaction", row.payload["idTag"], 2)) == 1

                with db.session() as s:
                    from portal.models import User
                    stop = actions.request_remote_stop(s, s.get(User, user_id), s.get(Transaction, tx.id))
                    s.commit()
                    stop_id = stop.id
                assert await _job(database_url, redis_url, stop_id) == "accepted"
                await eventually(db, lambda s: s.get(Transaction, tx.id).status == "completed")

                conf_id = _staff_request(db, cp_id, "GetConfiguration", {"key": ["HeartbeatInterval"]})
                assert await _job(database_url, redis_url, conf_id) == "accepted"
                assert _row(db, conf_id).response["configurationKey"][0]["key"] == "HeartbeatInterval"
            await eventually(db, lambda s: Redis.from_url(redis_url).get(claim_key(identity)) is None)
            # the charger is gone: the node (or the missing claim) answers at once
            gone_id = _request_offline_ok(db, cp_id)
            assert await _job(database_url, redis_url, gone_id) == "charger_offline"

    run(scenario())
    assert _sent_count(db, identity, "RemoteStartTransaction") == 1


def _request_offline_ok(db, cp_id):
    return _staff_request(db, cp_id, "ClearCache", {})


def test_charger_rejects(db, database_url, redis_url, setup):
    identity, cp_id, user_id = setup

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, identity, reject_remote_start=True):
                action_id = _request(db, cp_id, user_id)
                assert await _job(database_url, redis_url, action_id) == "rejected"
                assert _row(db, action_id).response == {"status": "Rejected"}

    run(scenario())


def test_silent_charger_times_out_and_the_next_call_waits_for_its_turn(db, database_url, redis_url, setup):
    """One call in flight per charger: the second call's deadline passes while it waits, so it is dropped."""
    identity, cp_id, user_id = setup

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, identity, no_answer=True) as sim:
                first = _request(db, cp_id, user_id, deadline_s=6)
                second = _staff_request(db, cp_id, "ClearCache", {}, deadline_s=3)
                first_job = asyncio.create_task(_job(database_url, redis_url, first))
                await until(lambda: sim.ignored_calls, what="the first call is with the charger")
                states = [await _job(database_url, redis_url, second), await first_job]
                assert states == ["timed_out", "timed_out"]
                assert "did not answer" in _row(db, first).error
                assert "busy" in _row(db, second).error
                assert len(sim.ignored_calls) == 1  # the dropped call never reached the charger

    run(scenario())
    assert _sent_count(db, identity, "ClearCache") == 0


def test_expired_request_is_never_sent(db, database_url, redis_url, setup):
    identity, cp_id, user_id = setup

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, identity) as sim:
                action_id = _request(db, cp_id, user_id)
                with db.session() as s:
                    s.get(ActionRequest, action_id).deadline_at = utcnow() - timedelta(seconds=1)
                    s.commit()
                assert await _job(database_url, redis_url, action_id) == "timed_out"
                assert "queue" in _row(db, action_id).error
                assert not sim.calls_received

    run(scenario())


def test_worker_died_after_the_claim_leaves_a_visible_final_state(db, database_url, redis_url, setup):
    identity, cp_id, user_id = setup
    action_id = _request(db, cp_id, user_id, deadline_s=30)
    with db.session() as s:
        assert actions.claim_for_sending(s, action_id)  # ... and then the worker was killed
    assert run_action(action_id, database_url, redis_url) == "already sent"  # RQ retry: no second send
    with db.session() as s:  # the sweep, once the deadline and the grace have passed
        actions.sweep(s, utcnow() + timedelta(seconds=30 + settings.get("action_sweep_grace_s") + 60))
        s.commit()
    row = _row(db, action_id)
    assert row.state == "timed_out" and "at most once" in row.error
    assert sweep_actions(database_url) == {"sent": 0, "queued": 0, "no_start": 0, "let_go": 0}


def test_claims_renewed_and_a_lapsed_claim_taken_back(db, redis_url, setup):
    from ocpp_server.calls import refresh_claims

    identity, cp_id, user_id = setup
    redis = Redis.from_url(redis_url)

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, identity):
                redis.delete(claim_key(identity))  # lapsed (e.g. Redis restarted): taken back
                await _renew_until(refresh_claims, node, lambda: redis.get(claim_key(identity)) == b"test-node",
                                   "the lapsed claim taken back")

    run(scenario())


def test_claims_are_renewed_in_slices_and_every_one_is_renewed(db, redis_url, setup, monkeypatch):
    from ocpp_server import calls

    identity, cp_id, user_id = setup
    redis = Redis.from_url(redis_url)
    monkeypatch.setattr(calls, "CLAIM_RENEW_SLICE", 2)
    others = [f"CP-HELD-{i}" for i in range(3)]  # held by this node as far as the renewal is concerned

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, identity):
                for other in others:
                    node.connections[other] = node.connections[identity]
                try:
                    keys = [claim_key(i) for i in [identity, *others]]
                    redis.delete(*keys)
                    await _renew_until(calls.refresh_claims, node, lambda: all(redis.mget(keys)),
                                       "every claim renewed, two at a time")
                    return redis.mget(keys)
                finally:
                    for other in others:
                        node.connections.pop(other, None)

    assert run(scenario()) == [b"test-node"] * 4


def test_a_charger_that_reconnected_to_another_node_loses_its_stale_socket_here(db, redis_url, setup):
    """The newer connection's node holds the claim: this node never takes it back, closes the stale
    socket it still holds, and leaves the charger's state (online on the other node) alone."""
    from portal.models import ChargePoint
    from ocpp_server.calls import refresh_claims

    identity, cp_id, user_id = setup
    redis = Redis.from_url(redis_url)

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, identity, reconnect=False):
                await eventually(db, lambda s: s.get(ChargePoint, cp_id).online)

                def moved_elsewhere(s):  # what the other node's connect wrote
                    s.get(ChargePoint, cp_id).connected_node = "node-newer"
                    s.commit()
                await query(db, moved_elsewhere)
                redis.set(claim_key(identity), "node-newer")
                await _renew_until(refresh_claims, node, lambda: identity not in node.connections,
                                   "the stale socket closed")
                assert redis.get(claim_key(identity)) == b"node-newer"
                charger = await query(db, lambda s: s.get(ChargePoint, cp_id))
                assert charger.online and charger.connected_node == "node-newer"
            assert redis.get(claim_key(identity)) == b"node-newer"  # our disconnect leaves theirs alone

    run(scenario())
