"""Attacks on the charger handshake (issue 23): lock-out by failed log-ins, and probing identities by timing.

Each test repeats what an attacker did: strangers failing on purpose must not keep a charger with the
right secret out, and a known identity must not answer slower than an unknown one.
"""
from __future__ import annotations

import asyncio
import json
import statistics
import time

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.factories import CHARGER_SECRET, make_charge_point, make_site
from tests.integration.ocpp_helpers import basic, ocpp_node, run


@pytest.fixture
def garage(session):
    """Three chargers of one site: behind one router they all connect from the same address."""
    site = make_site(session)
    identities = [make_charge_point(session, site, f"CP-GARAGE-{n}", online=False, boot_status=None).identity
                  for n in (1, 2, 3)]
    session.commit()
    return identities


async def _open(node, identity: str, password: str) -> int:
    try:
        async with connect(f"{node.url}/{identity}", subprotocols=["ocpp1.6"],
                           additional_headers=basic(identity, password)) as ws:
            await ws.send(json.dumps([2, "hb", "Heartbeat", {}]))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))[0] == 3
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


def test_eleven_wrong_handshakes_for_an_identity_do_not_lock_out_the_real_charger(db, redis_url, garage,
                                                                                  monkeypatch):
    monkeypatch.setenv("OCPP_AUTH_PENALTY_S", "0.05")
    target = garage[0]

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            wrong = [await _open(node, target, f"guess-{i}") for i in range(11)]
            right = await _open(node, target, CHARGER_SECRET)
            still_wrong = await _open(node, target, "guess-again")
            return wrong, right, still_wrong

    wrong, right, still_wrong = run(scenario())
    assert wrong[:10] == [401] * 10 and wrong[10] == 429  # failures are still throttled ...
    assert right == 101  # ... the right secret is not
    assert still_wrong == 429


def test_chargers_behind_the_same_address_as_a_stream_of_failures_connect(db, redis_url, garage, monkeypatch):
    monkeypatch.setenv("OCPP_AUTH_PENALTY_S", "0.05")

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            answers = {"failures": [], "garage": []}
            for round_ in range(4):  # a bad charger or a stranger on the same network keeps failing
                for n in range(5):
                    answers["failures"].append(await _open(node, f"CP-STRANGER-{round_}-{n}", "nope-nope-nope-1"))
                answers["failures"].append(await _open(node, garage[0], "an-old-secret-0001"))
                for identity in garage:
                    answers["garage"].append(await _open(node, identity, CHARGER_SECRET))
            return answers

    answers = run(scenario(), timeout=60)
    assert set(answers["failures"]) == {401, 429} and answers["failures"][-1] == 429
    assert answers["garage"] == [101] * 12


def test_known_and_unknown_identities_take_the_same_time_to_refuse(db, redis_url, garage, monkeypatch):
    """200 tries each, interleaved; the two timings are compared with each other, not with a duration."""
    monkeypatch.setenv("OCPP_AUTH_MAX_FAILURES", "100000")  # this test measures refusals, not the throttle
    tries = 200

    async def timed(node, identity: str) -> float:
        started = time.perf_counter()
        assert await _open(node, identity, "wrong-secret-0000") == 401
        return time.perf_counter() - started

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            for _ in range(10):  # warm up connections, caches and the dummy hash
                await timed(node, garage[1])
                await timed(node, "CP-NOBODY-WARM")
            known, unknown = [], []
            for i in range(tries):
                pair = [(known, garage[1]), (unknown, f"CP-NOBODY-{i}")]
                for bucket, identity in (pair if i % 2 else pair[::-1]):
                    bucket.append(await timed(node, identity))
            return known, unknown

    known, unknown = run(scenario(), timeout=120)
    # Probability that a known try is slower than an unknown one: 0.5 when both do the same work. A
    # systematic gap of a few milliseconds (an extra database query or hash) pushes it towards 1.
    slower = sum((k > u) + 0.5 * (k == u) for k in known for u in unknown) / (tries * tries)
    gap = abs(statistics.median(known) - statistics.median(unknown))
    spread = statistics.median(known + unknown)
    assert 0.35 <= slower <= 0.65, (slower, statistics.median(known), statistics.median(unknown))
    assert gap <= 0.15 * spread, (statistics.median(known), statistics.median(unknown))
