"""Charger actions on the real stack: two OCPP node processes, an RQ worker process, simulated
chargers (processes) on both nodes, and the web layer (the app's start/stop/retry routes).

Short deadlines keep failures quick: ACTION_DEADLINE_S=6, claims expire after 3 s.
"""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from redis import Redis
from rq import Queue
from rq.job import JobStatus
from sqlalchemy import func, select

from ocpp_server.calls import claim_key
from portal.db import utcnow
from portal.models import ActionRequest, ChargePoint, OcppMessage, Transaction
from portal.services.charging import actions
from tests.factories import CHARGER_SECRET, make_charge_point, make_site, make_user, standard_setup, subscribe
from tests.support.stack import Stack, wait_for_db
from portal import settings
from worker.jobs.charger import sweep_actions

DEADLINE_S = 6


@pytest.fixture
def env(database_url, redis_url, monkeypatch):
    monkeypatch.setenv("ACTION_DEADLINE_S", str(DEADLINE_S))  # requests created in this process
    monkeypatch.setenv("ACTION_SWEEP_GRACE_S", "1")
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "ACTION_DEADLINE_S": str(DEADLINE_S),
            "OCPP_CLAIM_TTL_S": "3", "ACTION_SWEEP_INTERVAL_S": "2", "ACTION_SWEEP_GRACE_S": "1",
            "WORKER_PROCESSES": "2"}


@pytest.fixture
def resident(session):
    site = make_site(session)
    group, plan = standard_setup(session, site)
    user = make_user(session, site=site)
    subscribe(session, user, plan)
    session.commit()
    return site, group, user


def add_charger(session, site, group, identity, connectors=1):
    cp = make_charge_point(session, site, identity, connectors=connectors, group=group, online=False,
                           status="Unavailable")
    session.commit()
    return cp.id


def ready(db, cp_id):
    wait_for_db(db, lambda s: (cp := s.get(ChargePoint, cp_id)).online and cp.boot_status == "Accepted"
             and all(c.status == "Available" for c in cp.outlets))


def start(client, identity, connector=1):
    response = client.post(f"/c/{identity}/start", data={"connector": str(connector)})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response


def last_action(db, cp_id):
    return wait_for_db(db, lambda s: s.scalar(select(ActionRequest).where(ActionRequest.charge_point_id == cp_id)
                                           .order_by(ActionRequest.id.desc()).limit(1)))


def final(db, action_id, timeout=30.0):
    return wait_for_db(db, lambda s: (r := s.get(ActionRequest, action_id)).is_final and r, timeout)


def job_end(job, timeout: float = 60.0) -> JobStatus:
    """Wait until an RQ job has ended (finished, failed, stopped or cancelled); returns its status."""
    ended = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
    deadline = time.monotonic() + timeout
    while (status := job.get_status(refresh=True)) not in ended:
        assert time.monotonic() < deadline, f"job {job.id} still {status} after {timeout}s"
        time.sleep(0.1)
    return status


def sent_count(db, identity, action="RemoteStartTransaction"):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(OcppMessage).where(
            OcppMessage.identity == identity, OcppMessage.direction == "out", OcppMessage.action == action))


def test_start_and_stop_through_the_web_reach_chargers_on_either_node(
        client, login, session, db, redis_url, env, resident, app):
    site, group, user = resident
    ids = {name: add_charger(session, site, group, name) for name in ("CP-A", "CP-B", "CP-REJ", "CP-MUTE", "CP-Q")}
    # online in the database (seen just now), but no socket on any node
    ghost = make_charge_point(session, site, "CP-GHOST", group=group, last_seen_at=utcnow())
    home_id = add_charger(session, site, group, "CP-HOME")  # personal, no authentication: autostart
    home = session.get(ChargePoint, home_id)
    home.cp_type, home.owner_id, home.auth_required = "personal", user.id, False
    session.commit()
    login(client, user)
    with Stack(env) as stack:
        node_a, node_b = stack.ocpp_node("node-a"), stack.ocpp_node("node-b")
        stack.worker()
        stack.simulator(node_a.url, "CP-A", CHARGER_SECRET, extra_args=["--meter-interval", "1"])
        stack.simulator(node_b.url, "CP-B", CHARGER_SECRET, extra_args=["--meter-interval", "1"])
        stack.simulator(node_b.url, "CP-REJ", CHARGER_SECRET, extra_args=["--reject-remote-start"])
        stack.simulator(node_a.url, "CP-MUTE", CHARGER_SECRET, extra_args=["--no-answer"])
        stack.simulator(node_b.url, "CP-Q", CHARGER_SECRET)
        stack.simulator(node_a.url, "CP-HOME", CHARGER_SECRET, extra_args=["--auto-plug"])
        for cp_id in ids.values():
            ready(db, cp_id)
        redis = Redis.from_url(redis_url)
        assert redis.get(claim_key("CP-A")) == b"node-a" and redis.get(claim_key("CP-B")) == b"node-b"

        auto = final(db, last_action(db, home_id).id)  # plugged in -> Preparing -> remote start for the owner
        assert (auto.state, auto.requested_by_id) == ("accepted", user.id)
        wait_for_db(db, lambda s: (r := s.get(ActionRequest, auto.id)).transaction_id
                 and s.get(Transaction, r.transaction_id).status == "active")

        started = {}
        for identity in ("CP-A", "CP-B"):
            start(client, identity)
            row = final(db, last_action(db, ids[identity]).id)
            assert row.state == "accepted", row.error
            row = wait_for_db(db, lambda s: (r := s.get(ActionRequest, row.id)).transaction_id and r)
            tx = wait_for_db(db, lambda s: s.get(Transaction, row.transaction_id))
            assert tx.status == "active" and tx.user_id == user.id  # the page shows "charging"
            started[identity] = tx.id
            wait_for_db(db, lambda s: s.get(Transaction, tx.id).meter_last_wh)

        for identity, tx_id in started.items():
            response = client.post(f"/sessions/{tx_id}/stop")
            assert response.status_code in (200, 303)
            stop = wait_for_db(db, lambda s: s.scalar(select(ActionRequest).where(
                ActionRequest.action == "RemoteStopTransaction", ActionRequest.transaction_id == tx_id)))
            assert final(db, stop.id).state == "accepted"
            wait_for_db(db, lambda s: s.get(Transaction, tx_id).status == "completed")

        start(client, "CP-REJ")
        assert final(db, last_action(db, ids["CP-REJ"]).id).state == "rejected"
        start(client, "CP-GHOST")
        assert final(db, last_action(db, ghost.id).id).state == "charger_offline"
        start(client, "CP-MUTE")
        mute = final(db, last_action(db, ids["CP-MUTE"]).id, timeout=DEADLINE_S + 10)
        assert mute.state == "timed_out" and "did not answer" in mute.error

        # Redis unavailable: the page says the queue is busy and the request is kept, then retried.
        app.extensions["portal_redis"] = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
        response = start(client, "CP-Q")
        assert "busy=1" in response.headers["Location"]
        kept = last_action(db, ids["CP-Q"])
        assert kept.state == "queued" and kept.action == "RemoteStartTransaction"
        app.extensions["portal_redis"] = redis
        assert client.post(f"/c/CP-Q/retry/{kept.id}").status_code == 303
        assert final(db, kept.id).state == "accepted"

        # the periodic sweeper (RQ cron in the worker) closes a request nobody will answer
        with db.session() as s:
            stuck = actions.request_action(s, make_user(s, staff_role="support"), s.get(ChargePoint, ids["CP-B"]),
                                           "ClearCache", {})
            stuck.state, stuck.deadline_at = "sent", utcnow() - timedelta(seconds=5)
            s.commit()
            stuck_id = stuck.id
        assert final(db, stuck_id, timeout=15).state == "timed_out"
    assert sent_count(db, "CP-A") == sent_count(db, "CP-B") == sent_count(db, "CP-Q") == 1


def test_node_dies_claims_expire_and_requests_fail_cleanly(client, login, session, db, redis_url, env, resident):
    site, group, user = resident
    cp_id = add_charger(session, site, group, "CP-DIES")
    login(client, user)
    with Stack(env) as stack:
        node = stack.ocpp_node("node-dies")
        stack.worker()
        stack.simulator(node.url, "CP-DIES", CHARGER_SECRET)
        ready(db, cp_id)
        node.kill()  # no clean shutdown: the database still says online, the claim lingers
        redis = Redis.from_url(redis_url)
        start(client, "CP-DIES")
        during = final(db, last_action(db, cp_id).id, timeout=DEADLINE_S + 10)
        assert during.state in ("timed_out", "charger_offline"), during.error
        wait_for_db(db, lambda s: redis.get(claim_key("CP-DIES")) is None, timeout=10)
        start(client, "CP-DIES")
        after = final(db, last_action(db, cp_id).id, timeout=5)
        assert after.state == "charger_offline" and after.id != during.id


def test_worker_killed_mid_call_no_second_start_and_a_final_state(
        client, login, session, db, redis_url, env, resident):
    site, group, user = resident
    cp_id = add_charger(session, site, group, "CP-KILL")
    login(client, user)
    with Stack(env) as stack:
        node = stack.ocpp_node("node-k")
        worker = stack.worker()
        stack.simulator(node.url, "CP-KILL", CHARGER_SECRET, extra_args=["--no-answer"])
        ready(db, cp_id)
        start(client, "CP-KILL")
        row = last_action(db, cp_id)
        wait_for_db(db, lambda s: s.get(ActionRequest, row.id).state == "sent")
        wait_for_db(db, lambda s: sent_count(db, "CP-KILL") == 1)
        worker.kill()  # SIGKILL while it waits for the charger's answer
        stack.worker(name="worker-2")
        # RQ may run an abandoned job again: simulate that retry explicitly
        retry = Queue(settings.CHARGER_QUEUE, connection=Redis.from_url(redis_url)).enqueue(
            actions.RUN_JOB, row.id, job_id=f"retry-{row.id}")
        assert job_end(retry) == JobStatus.FINISHED, retry.latest_result()
        assert retry.return_value() == "already sent"  # the retry ran, found the claim taken and sent nothing
        assert sent_count(db, "CP-KILL") == 1
        wait_for_db(db, lambda s: s.get(ActionRequest, row.id).deadline_at < utcnow() - timedelta(seconds=1.5),
                 timeout=DEADLINE_S + 5)
        sweep_actions(env["DATABASE_URL"])  # the cron of a restarted worker may still be standing by
        done = final(db, row.id, timeout=5)
        assert done.state == "timed_out" and "at most once" in done.error
    assert sent_count(db, "CP-KILL") == 1
