"""Tap-to-charger latency: from the resident's HTTP POST to the start route until the
RemoteStartTransaction arrives at a simulated charger. Prints p50/p95/p99, and the time of each hop
(web, queue wait, worker + node + charger) split at the action row's own created_at / sent_at.

    .venv/bin/python bench/tap_to_charger.py [--starts 200] [--chargers 4] [--web gunicorn|flask]

Self-contained: starts a private redis-server, a fresh SQLite database (or DATABASE_URL=... for
PostgreSQL), migrations, one OCPP node, one worker (`python -m worker`) and the web app
(gunicorn, 1 worker, 4 threads) as real processes; the chargers are simulator objects in this
process so the arrival time is read on the same clock as the request start. Each start is a real
HTTP POST to /c/<identity>/start by a logged-in resident (session cookie + CSRF token).

The simulated chargers accept the start but do not begin a session (--no-start-after-accept
behaviour), so the same connector can be started again at once; starts are sequential (the figure
is the latency of one tap, not throughput under load). Not a test: never run in CI.
"""
from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import os
import re
import statistics
from dataclasses import dataclass
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocpp_server.simulator import Options, SimulatedCharger  # noqa: E402
from portal.db import Database  # noqa: E402
from tests.factories import (  # noqa: E402
    CHARGER_SECRET, PASSWORD, make_charge_point, make_site, make_user, standard_setup, subscribe,
)
from tests.support.services import RedisServer  # noqa: E402
from tests.support.stack import Stack  # noqa: E402

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Arrivals(list):
    """SimulatedCharger.calls_received that also notes when each call arrived (perf_counter)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []
        self.walls: list[float] = []  # time.time() of the same moment, to compare with database times
        self.event = asyncio.Event()

    def append(self, item) -> None:
        self.times.append(time.perf_counter())
        self.walls.append(time.time())
        super().append(item)
        self.event.set()


class Browser:
    """A resident's browser: cookies, CSRF token from the page, form posts (no redirects followed)."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), self._NoRedirect)
        self.token = ""

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            body = response.read().decode()
        match = CSRF_RE.search(body)
        self.token = match.group(1) if match else self.token
        return body

    def post(self, path: str, data: dict) -> int:
        body = urllib.parse.urlencode({**data, "csrf_token": self.token}).encode()
        request = urllib.request.Request(self.base + path, data=body, headers={"X-CSRFToken": self.token})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as exc:  # 303 arrives here because redirects are not followed
            return exc.code


def prepare(database_url: str, chargers: int) -> list[str]:
    from portal.cli import upgrade_database

    upgrade_database(database_url)
    db = Database.from_url(database_url)
    with db.session() as s:
        site = make_site(s, f"bench-{int(time.time())}")
        group, plan = standard_setup(s, site)
        user = make_user(s, f"bench-{site.slug}@bench.test", site=site)
        subscribe(s, user, plan)
        identities = [make_charge_point(s, site, f"TAP{int(time.time()) % 100000}-{i}", group=group, online=False).identity
                      for i in range(chargers)]
        s.commit()
    db.dispose()
    return [user.email, *identities]


@dataclass
class Tap:
    total: float  # POST sent -> RemoteStartTransaction at the charger (s)
    posted_wall: float  # time.time() when the POST was sent
    answered: float  # POST sent -> HTTP answer (s)
    arrived_wall: float


async def measure(base: str, node_url: str, email: str, identities: list[str], starts: int) -> list[Tap]:
    browser = Browser(base)
    browser.get("/login")
    status = browser.post("/login", {"email": email, "password": PASSWORD, "next": ""})
    assert status in (200, 302, 303, 204), f"log-in failed: HTTP {status}"
    sims = []
    for identity in identities:
        sim = SimulatedCharger(node_url, identity, CHARGER_SECRET, Options(no_start_after_accept=True))
        sim.calls_received = Arrivals()
        await sim.start()
        sims.append(sim)
    await asyncio.sleep(1.0)  # status notifications stored
    samples: list[Tap] = []
    try:
        for n in range(starts):
            sim = sims[n % len(sims)]
            await asyncio.to_thread(browser.get, f"/c/{sim.identity}")  # fresh CSRF token, like a page load
            arrivals: Arrivals = sim.calls_received  # type: ignore[assignment]
            seen = len(arrivals)
            arrivals.event.clear()
            wall0, t0 = time.time(), time.perf_counter()
            status = await asyncio.to_thread(browser.post, f"/c/{sim.identity}/start", {"connector": "1"})
            answered = time.perf_counter() - t0
            if status not in (303, 204):
                raise SystemExit(f"start {n} on {sim.identity} answered HTTP {status}")
            while len(arrivals) == seen:
                await asyncio.wait_for(arrivals.event.wait(), 30)
                arrivals.event.clear()
            samples.append(Tap(arrivals.times[seen] - t0, wall0, answered, arrivals.walls[seen]))
            await asyncio.sleep(0.05)  # let the worker record the answer before the next tap
    finally:
        await asyncio.gather(*(s.close() for s in sims), return_exceptions=True)
    return samples


def hop_times(database_url: str, samples: list[Tap]) -> dict[str, list[float]]:
    """Split each tap at the action row's created_at (web stored the request) and sent_at (the worker
    took the job and claimed the row): web, queue wait, worker + node + charger. The n-th start made the
    n-th RemoteStartTransaction row (starts are sequential)."""
    from sqlalchemy import select

    from portal.models import ActionRequest

    db = Database.from_url(database_url)
    with db.session() as s:
        rows = s.execute(select(ActionRequest.created_at, ActionRequest.sent_at)
                         .where(ActionRequest.action == "RemoteStartTransaction").order_by(ActionRequest.id)).all()
    db.dispose()
    rows = rows[-len(samples):]
    hops: dict[str, list[float]] = {"web: POST sent -> action row stored": [], "web: POST sent -> HTTP answer": [],
                                    "queue: row stored -> worker claimed it": [],
                                    "worker + node + charger: claimed -> arrived": []}
    for tap, (created, sent) in zip(samples, rows):
        if sent is None:
            continue
        hops["web: POST sent -> action row stored"].append((created.timestamp() - tap.posted_wall) * 1000)
        hops["web: POST sent -> HTTP answer"].append(tap.answered * 1000)
        hops["queue: row stored -> worker claimed it"].append((sent.timestamp() - created.timestamp()) * 1000)
        hops["worker + node + charger: claimed -> arrived"].append((tap.arrived_wall - sent.timestamp()) * 1000)
    return hops


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--starts", type=int, default=200)
    p.add_argument("--chargers", type=int, default=4)
    p.add_argument("--web", choices=("gunicorn", "flask"), default="gunicorn")
    args = p.parse_args()
    redis = RedisServer()
    folder = tempfile.mkdtemp(prefix="bench-tap-")
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/portal.db"
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis.url, "RATELIMIT_ENABLED": "false",
           "SECRET_KEY": "bench-secret-not-for-production", "WORKER_PROCESSES": "2"}
    email, *identities = prepare(database_url, args.chargers)
    try:
        with Stack(env) as stack:
            node = stack.ocpp_node("bench-node")
            stack.worker()
            _, base = stack.web(server=args.web)
            samples = asyncio.run(measure(base, node.url, email, identities, args.starts))
        hops = hop_times(database_url, samples)
    finally:
        redis.stop()
    ms = [s.total * 1000 for s in samples]
    print(f"tap-to-charger latency over {len(ms)} starts ({args.chargers} chargers, web={args.web}, "
          f"database={database_url.split(':', 1)[0]}):")
    print(f"  p50 {pct(ms, 50):7.1f} ms   p95 {pct(ms, 95):7.1f} ms   p99 {pct(ms, 99):7.1f} ms   "
          f"min {min(ms):.1f}  mean {statistics.fmean(ms):.1f}  max {max(ms):.1f} ms")
    print("  per hop (from the action row's own times; same clock, same machine):")
    for name, values in hops.items():
        print(f"    {name:<44} p50 {pct(values, 50):6.1f}   p95 {pct(values, 95):6.1f}   p99 {pct(values, 99):6.1f} ms")


if __name__ == "__main__":
    main()
