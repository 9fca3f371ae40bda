"""Double taps: N starts (or stops) for one connector at the same moment make one request and one call.

Real web requests in parallel threads (each its own logged-in client), the real actions service and
RQ queue, a live OCPP node with a simulated charger, and the worker's job run for every job queued.
"""
from __future__ import annotations

import asyncio
import threading

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import func, select

from ocpp_server.calls import claim_key
from portal.db import utcnow
from portal.models import ActionRequest, SubscriptionPlan, Transaction
from tests.conftest import browser_like_client
from tests.factories import make_user, resident_with_access, subscribe
from tests.integration.ocpp_helpers import eventually, ocpp_node, run, simulator
from portal import settings
from worker.jobs.charger import run_action

TAPS = 6


@pytest.fixture
def setup(session, redis_url):
    site, user, cp = resident_with_access(session)
    neighbour = make_user(session, site=site)
    subscribe(session, neighbour, session.scalar(select(SubscriptionPlan).where(SubscriptionPlan.site_id == site.id)))
    session.commit()
    queue = Queue(settings.CHARGER_QUEUE, connection=Redis.from_url(redis_url))
    queue.empty()
    yield {"identity": cp.identity, "cp_id": cp.id, "user": user, "neighbour": neighbour, "site": site}
    queue.empty()  # jobs for requests this test never ran must not reach the next test


def _tap_at_once(app, login, user, path: str, data: dict, n: int = TAPS) -> list:
    """n clients of the same person post at the same moment; returns their responses."""
    clients = []
    for _ in range(n):
        c = browser_like_client(app)
        login(c, user)
        clients.append(c)
    barrier = threading.Barrier(n)
    responses: list = [None] * n

    def tap(i: int) -> None:
        barrier.wait()
        responses[i] = clients[i].post(path, data=data)

    threads = [threading.Thread(target=tap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return responses


def _queued_action_ids(redis_url) -> list[int]:
    ids = Queue(settings.CHARGER_QUEUE, connection=Redis.from_url(redis_url)).job_ids
    return [int(job_id.split("-")[1]) for job_id in ids]


def test_six_starts_at_once_make_one_request_one_call_and_one_page(app, login, db, database_url, redis_url, setup):
    identity = setup["identity"]

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, identity) as sim:
                await eventually(db, lambda s: Redis.from_url(redis_url).get(claim_key(identity)))
                responses = await asyncio.to_thread(_tap_at_once, app, login, setup["user"],
                                                    f"/c/{identity}/start", {"connector": "1"})
                jobs = _queued_action_ids(redis_url)
                for action_id in jobs:
                    await asyncio.to_thread(run_action, action_id, database_url, redis_url)
                await eventually(db, lambda s: s.scalar(select(Transaction.id)))
                return responses, jobs, [c for c in sim.calls_received if c[0] == "RemoteStartTransaction"]

    responses, jobs, starts = run(scenario(), timeout=60)
    assert [r.status_code for r in responses] == [303] * TAPS
    pages = {r.headers["Location"] for r in responses}
    with db.session() as s:
        rows = s.scalars(select(ActionRequest)).all()
    assert len(rows) == 1 and pages == {f"/charging/{rows[0].id}"}
    assert set(jobs) == {rows[0].id} and len(starts) == 1 and rows[0].state == "accepted"


def test_six_stops_at_once_make_one_request(app, login, db, session, redis_url, setup):
    tx = Transaction(charge_point_id=setup["cp_id"], connector_id=1, id_tag="T1", user_id=setup["user"].id,
                     start_key="double-tap-stop", meter_start_wh=1_000, status="active",
                     started_at=utcnow())
    session.add(tx)
    session.commit()
    responses = _tap_at_once(app, login, setup["user"], f"/sessions/{tx.id}/stop", {})
    assert all(r.status_code < 400 for r in responses), [r.status_code for r in responses]
    with db.session() as s:
        assert s.scalar(select(func.count(ActionRequest.id)).where(
            ActionRequest.action == "RemoteStopTransaction")) == 1
    assert len(set(_queued_action_ids(redis_url))) == 1


def test_a_neighbour_tapping_the_same_connector_meanwhile_is_told_it_is_occupied(app, login, db, setup):
    first = browser_like_client(app)
    login(first, setup["user"])
    assert first.post(f"/c/{setup['identity']}/start", data={"connector": "1"}).status_code == 303
    other = browser_like_client(app)
    login(other, setup["neighbour"])
    reply = other.post(f"/c/{setup['identity']}/start", data={"connector": "1"})
    assert reply.status_code == 409
    with db.session() as s:
        assert s.scalar(select(func.count(ActionRequest.id))) == 1
