"""Tap-to-charger: from a resident's HTTP POST to the start route until the RemoteStartTransaction
arrives at a simulated charger, for the portal and, in the same run, for a minimal chain of the
same hops (bench/minimal_chain: gunicorn + a tiny Flask app inserting a row, an RQ SimpleWorker,
a Redis hand-off, a bare asyncio `ocpp` + `websockets` node, the OCPP call).

    .venv/bin/python bench/tap_to_charger.py [--starts 500] [--residents 50] [--duration 5]
                                             [--scale-residents 20] [--scale-workers 1,2,4]

Three measurements per target, printed side by side with the ratio portal / chain:
  1. --starts sequential taps by one resident: p50/p95/p99 and the time in each hop, split at the
     row's own created_at (web stored it) and sent_at (the worker took the job), on the same clock;
  2. --residents residents tapping concurrently (each on its own chargers, one tap after another)
     for --duration s: taps/s and p50/p95/p99;
  3. --scale-residents concurrent residents for --duration s with 1, 2, 4... worker processes: taps/s.

Self-contained: a private redis-server, a fresh SQLite database (or --database postgresql, or
DATABASE_URL=... for the portal; the chain always uses SQLite), migrations, one OCPP node, the worker (`python -m worker
--no-cron`) and gunicorn (--web-workers, default 2, x 4 threads, as `make run`) for each target, as real processes; the chargers
are simulator objects in this process, so arrival times are read on the same clock as the POST.
The simulated chargers accept a start without beginning a session, so a connector can be started
again at once. Portal taps are real logged-in POSTs (session cookie + CSRF token): each resident
loads the start page once and reuses its token, so timings and taps/s count the start POST and its
chain only. A run with the defaults takes about two minutes. Not a test: never run in CI.
"""
from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.minimal_chain import SCHEMA  # noqa: E402
from ocpp_server.simulator import Options, SimulatedCharger  # noqa: E402
from portal.db import Database  # noqa: E402
from tests.factories import (  # noqa: E402
    CHARGER_SECRET, PASSWORD, make_charge_point, make_site, make_user, standard_setup, subscribe,
)
from tests.support.services import RedisServer  # noqa: E402
from tests.support.stack import Proc, Stack, free_port, start_process, wait_for_port  # noqa: E402

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TAP_TIMEOUT_S = 10.0
PER_RESIDENT = 2  # chargers per resident, used in turn (a portal tap on a still-pending start is merged)


class Arrivals(list):
    """SimulatedCharger.calls_received that also notes when each call arrived."""

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


@dataclass
class Tap:
    total: float  # POST sent -> RemoteStartTransaction at the charger (s)
    posted_wall: float  # time.time() when the POST was sent
    answered: float  # POST sent -> HTTP answer (s)
    arrived_wall: float


@dataclass
class Resident:
    browser: Browser
    sims: list[SimulatedCharger]
    turn: int = 0


@dataclass
class Target:
    name: str
    base: str
    node_url: str
    portal: bool  # log-in + CSRF page load before each POST
    start_path: Callable[[str], str]
    restart_worker: Callable[[int], None]
    rows: Callable[[], list[tuple[float, float | None]]]  # (created, sent) epoch seconds, by id
    residents: list[Resident] = field(default_factory=list)


async def tap(target: Target, resident: Resident, page_load: bool = True) -> Tap | None:
    """One tap; with page_load the start page is loaded first (untimed) for a fresh CSRF token,
    otherwise the token of the resident's last page load is used again (valid for the session)."""
    sim = resident.sims[resident.turn % len(resident.sims)]
    resident.turn += 1
    if target.portal and (page_load or not resident.browser.token):
        await asyncio.to_thread(resident.browser.get, f"/c/{sim.identity}")  # fresh CSRF token, like a page load
    arrivals: Arrivals = sim.calls_received  # type: ignore[assignment]
    seen = len(arrivals)
    arrivals.event.clear()
    wall0, t0 = time.time(), time.perf_counter()
    status = await asyncio.to_thread(resident.browser.post, target.start_path(sim.identity), {"connector": "1"})
    answered = time.perf_counter() - t0
    if status not in (303, 204):
        raise SystemExit(f"{target.name}: start on {sim.identity} answered HTTP {status}")
    try:
        while len(arrivals) == seen:
            await asyncio.wait_for(arrivals.event.wait(), TAP_TIMEOUT_S)
            arrivals.event.clear()
    except asyncio.TimeoutError:
        return None
    return Tap(arrivals.times[seen] - t0, wall0, answered, arrivals.walls[seen])


async def connect_residents(target: Target, logins: list[tuple[str | None, list[str]]]) -> None:
    async def one(email: str | None, identities: list[str]) -> Resident:
        browser = Browser(target.base)
        if email is not None:
            await asyncio.to_thread(browser.get, "/login")
            status = await asyncio.to_thread(browser.post, "/login", {"email": email, "password": PASSWORD, "next": ""})
            assert status in (200, 302, 303, 204), f"log-in failed: HTTP {status}"
            await asyncio.to_thread(browser.get, f"/c/{identities[0]}")  # the signed-in session's CSRF token
        sims = []
        for identity in identities:
            sim = SimulatedCharger(target.node_url, identity, CHARGER_SECRET, Options(no_start_after_accept=True))
            sim.calls_received = Arrivals()
            await sim.start()
            sims.append(sim)
        return Resident(browser, sims)

    target.residents = list(await asyncio.gather(*(one(e, ids) for e, ids in logins)))
    await asyncio.sleep(1.5)  # boots and status notifications stored


async def close_residents(target: Target) -> None:
    await asyncio.gather(*(s.close() for r in target.residents for s in r.sims), return_exceptions=True)


async def sequential(target: Target, starts: int) -> tuple[list[Tap], int]:
    samples, lost = [], 0
    for _ in range(starts):
        sample = await tap(target, target.residents[0], page_load=False)
        if sample is None:
            lost += 1
        else:
            samples.append(sample)
        await asyncio.sleep(0.01)  # let the worker record the answer (the next tap goes to the other charger)
    return samples, lost


async def concurrent(target: Target, residents: int, duration: float, warmup: float = 1.0) -> tuple[list[Tap], int, float]:
    """Each resident taps, waits for the arrival, taps again; only taps begun after the warm-up count."""
    samples: list[Tap] = []
    lost = 0
    begin = time.perf_counter() + warmup
    end = begin + duration

    async def run(resident: Resident) -> None:
        nonlocal lost
        while time.perf_counter() < end:
            started = time.perf_counter()
            sample = await tap(target, resident, page_load=False)
            if started < begin:
                continue
            if sample is None:
                lost += 1
            else:
                samples.append(sample)

    t0 = time.perf_counter()
    await asyncio.gather(*(run(r) for r in target.residents[:residents]))
    return samples, lost, time.perf_counter() - max(t0, begin)


def hop_times(rows: list[tuple[float, float | None]], samples: list[Tap]) -> dict[str, list[float]]:
    """Split each sequential tap at its row's created_at and sent_at (the n-th tap made the n-th row)."""
    hops: dict[str, list[float]] = {"web: POST sent -> row stored": [], "web: POST sent -> HTTP answer": [],
                                    "queue: row stored -> worker took it": [],
                                    "worker + node + charger: took -> arrived": []}
    rows = [row for row in rows if samples and row[0] >= samples[0].posted_wall]
    if len(rows) != len(samples):  # a tap merged into a pending request: the n-th row is not the n-th tap's
        print(f"  (per-hop split skipped: {len(rows)} rows for {len(samples)} taps)")
        return {name: [] for name in hops}
    for sample, (created, sent) in zip(samples, rows):
        if sent is None:
            continue
        hops["web: POST sent -> row stored"].append((created - sample.posted_wall) * 1000)
        hops["web: POST sent -> HTTP answer"].append(sample.answered * 1000)
        hops["queue: row stored -> worker took it"].append((sent - created) * 1000)
        hops["worker + node + charger: took -> arrived"].append((sample.arrived_wall - sent) * 1000)
    return hops


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


# --- the two targets ---------------------------------------------------------------------------------

def prepare_portal(database_url: str, residents: int) -> list[tuple[str, list[str]]]:
    from portal.cli import upgrade_database

    upgrade_database(database_url)
    db = Database.from_url(database_url)
    stamp = int(time.time()) % 100000
    logins = []
    with db.session() as s:
        site = make_site(s, f"bench-{stamp}")
        group, plan = standard_setup(s, site)
        for n in range(residents):
            user = make_user(s, f"bench-{stamp}-{n}@bench.test", site=site)
            subscribe(s, user, plan)
            cps = [make_charge_point(s, site, f"TAP{stamp}-{n}-{i}", group=group, online=False).identity
                   for i in range(PER_RESIDENT)]
            logins.append((user.email, cps))
        s.commit()
    db.dispose()
    return logins


def portal_rows(database_url: str) -> list[tuple[float, float | None]]:
    from sqlalchemy import select

    from portal.models import ActionRequest

    db = Database.from_url(database_url)
    with db.session() as s:
        rows = s.execute(select(ActionRequest.created_at, ActionRequest.sent_at)
                         .where(ActionRequest.action == "RemoteStartTransaction").order_by(ActionRequest.id)).all()
    db.dispose()
    return [(c.timestamp(), s.timestamp() if s else None) for c, s in rows]


def chain_rows(path: str) -> list[tuple[float, float | None]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT created_at, sent_at FROM starts ORDER BY id").fetchall()


class Workers:
    """The worker processes of one target, restarted with another process count on demand."""

    def __init__(self, stack: Stack, start: Callable[[int], Proc]) -> None:
        self.stack, self.start, self.proc = stack, start, None

    def __call__(self, processes: int) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.stack.procs.remove(self.proc)
        self.proc = self.stack.add(self.start(processes))
        time.sleep(1.0 + 0.3 * processes)  # the pool forks and registers its workers


async def measure(target: Target, logins, args) -> dict:
    result: dict = {}
    await connect_residents(target, logins)
    try:
        target.restart_worker(args.workers)
        await concurrent(target, 1, 0.5, warmup=0.5)  # warm connections and caches
        samples, lost = await sequential(target, args.starts)
        result["sequential"] = (samples, lost, hop_times(await asyncio.to_thread(target.rows), samples))
        samples, lost, seconds = await concurrent(target, args.residents, args.duration)
        result["concurrent"] = (samples, lost, seconds)
        result["scale"] = {}
        for processes in args.scale_workers:
            await asyncio.to_thread(target.restart_worker, processes)
            samples, lost, seconds = await concurrent(target, args.scale_residents, args.duration)
            result["scale"][processes] = (samples, lost, seconds)
    finally:
        await close_residents(target)
    return result


def start_gunicorn(stack: Stack, name: str, app: str, env: dict, workers: int) -> str:
    """gunicorn with --web-workers processes x 4 threads (`make run` starts 2 x 4), as for both targets."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(env, PORTAL_BASE_URL=base)
    web = stack.add(start_process(name, ["-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}", "--workers",
                                         str(workers), "--threads", "4", "--no-control-socket"], env))
    wait_for_port(web, "127.0.0.1", port, timeout=30)
    time.sleep(0.5 * workers)  # every worker has loaded the app
    return base


def run_portal(args, redis_url: str, folder: str) -> dict:
    drop = None
    if os.environ.get("DATABASE_URL"):
        database_url = os.environ["DATABASE_URL"]
    elif args.database == "postgresql":  # a fresh database on the local server, dropped afterwards
        os.environ["TEST_DATABASE"] = "postgresql"
        from tests.support.services import create_test_database

        database_url, drop = create_test_database()
    else:
        database_url = f"sqlite:///{folder}/portal.db"
    try:
        return _run_portal(args, redis_url, database_url)
    finally:
        if drop:
            drop()


def _run_portal(args, redis_url: str, database_url: str) -> dict:
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "RATELIMIT_ENABLED": "false",
           "SECRET_KEY": "bench-secret-not-for-production"}
    logins = prepare_portal(database_url, max(args.residents, args.scale_residents, 1))
    with Stack(env) as stack:
        node = stack.ocpp_node("bench-node")
        base = start_gunicorn(stack, "web", "portal:create_app()", env, args.web_workers)
        workers = Workers(stack, lambda n: start_process(f"worker-{n}", ["-m", "worker", "--no-cron", "--processes", str(n)], env))
        target = Target("portal", base, node.url, True, lambda identity: f"/c/{identity}/start", workers,
                        lambda: portal_rows(database_url))
        result = asyncio.run(_with_threads(measure(target, logins, args)))
    result["database"] = database_url.split(":", 1)[0]
    return result


def run_chain(args, redis_url: str, folder: str) -> dict:
    path = f"{folder}/chain.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(SCHEMA)
    env = {"CHAIN_DB": path, "REDIS_URL": redis_url}
    count = max(args.residents, args.scale_residents, 1)
    logins = [(None, [f"CHAIN-{n}-{i}" for i in range(PER_RESIDENT)]) for n in range(count)]
    with Stack(env) as stack:
        port = free_port()
        node = stack.add(start_process("chain-node", ["-m", "bench.minimal_chain.node", "--port", str(port)], env))
        wait_for_port(node, "127.0.0.1", port)
        base = start_gunicorn(stack, "chain-web", "bench.minimal_chain.app:create_app()", env, args.web_workers)
        workers = Workers(stack, lambda n: start_process(f"chain-worker-{n}", ["-m", "bench.minimal_chain.worker",
                                                                                "--processes", str(n)], env))
        target = Target("chain", base, f"ws://127.0.0.1:{port}/ocpp", False,
                        lambda identity: f"/start/{identity}", workers, lambda: chain_rows(path))
        return asyncio.run(_with_threads(measure(target, logins, args)))


async def _with_threads(coro):
    """Enough threads for every concurrent resident's blocking HTTP call (the default pool has cpu + 4)."""
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=128))
    return await coro


# --- report ------------------------------------------------------------------------------------------

def report(args, portal: dict, chain: dict) -> None:
    def row(label: str, a: float, b: float, unit: str) -> None:
        ratio = a / b if b else float("nan")
        print(f"  {label:<46} {a:9.1f} {b:9.1f} {unit:<6} {ratio:5.2f}x")

    print(f"\ntap to charger: portal ({portal['database']}) vs minimal chain (SQLite), gunicorn {args.web_workers} x 4 threads, "
          f"{args.workers} worker process(es) unless said")
    print(f"  {'':<46} {'portal':>9} {'chain':>9} {'':<6} ratio")
    (ps, pl, phops), (cs, cl, chops) = portal["sequential"], chain["sequential"]
    pms, cms = [s.total * 1000 for s in ps], [s.total * 1000 for s in cs]
    print(f" {args.starts} sequential starts (lost: portal {pl}, chain {cl})")
    for p in (50, 95, 99):
        row(f"whole tap p{p}", pct(pms, p), pct(cms, p), "ms")
    row("whole tap mean", statistics.fmean(pms) if pms else float("nan"), statistics.fmean(cms) if cms else float("nan"), "ms")
    for name in phops:
        for p in (50, 99):
            row(f"{name} p{p}", pct(phops[name], p), pct(chops[name], p), "ms")
    (ps, pl, psec), (cs, cl, csec) = portal["concurrent"], chain["concurrent"]
    pms, cms = [s.total * 1000 for s in ps], [s.total * 1000 for s in cs]
    print(f" {args.residents} concurrent residents, {args.duration:.0f} s (lost: portal {pl}, chain {cl})")
    row("taps/s", len(ps) / psec, len(cs) / csec, "/s")
    for p in (50, 95, 99):
        row(f"whole tap p{p}", pct(pms, p), pct(cms, p), "ms")
    print(f" {args.scale_residents} concurrent residents, {args.duration:.0f} s, by worker processes")
    for n in args.scale_workers:
        (ps, pl, psec), (cs, cl, csec) = portal["scale"][n], chain["scale"][n]
        row(f"{n} worker process(es): taps/s", len(ps) / psec, len(cs) / csec, "/s")
        row(f"{n} worker process(es): whole tap p99", pct([s.total * 1000 for s in ps], 99),
            pct([s.total * 1000 for s in cs], 99), "ms")
        if pl or cl:
            print(f"    lost: portal {pl}, chain {cl}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--starts", type=int, default=500, help="sequential taps")
    p.add_argument("--residents", type=int, default=50, help="concurrent residents")
    p.add_argument("--duration", type=float, default=4.0, help="seconds of each concurrent measurement")
    p.add_argument("--workers", type=int, default=2, help="worker processes for the first two measurements")
    p.add_argument("--web-workers", type=int, default=2, help="gunicorn processes (x 4 threads), both targets")
    p.add_argument("--scale-residents", type=int, default=20)
    p.add_argument("--scale-workers", default="1,2,4", help="worker process counts to compare")
    p.add_argument("--only", choices=("portal", "chain"), help="measure one target (debugging)")
    p.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                   help="the portal's database (postgresql: a fresh one on TEST_POSTGRES_URL's server, default "
                        "postgres@127.0.0.1:5432); the chain always uses SQLite. DATABASE_URL overrides both")
    args = p.parse_args()
    args.scale_workers = [int(n) for n in args.scale_workers.split(",") if n]
    redis = RedisServer()
    folder = tempfile.mkdtemp(prefix="bench-tap-")
    try:
        chain = run_chain(args, redis.url, folder) if args.only != "portal" else None
        portal = run_portal(args, redis.url, folder) if args.only != "chain" else None
    finally:
        redis.stop()
    if portal and chain:
        report(args, portal, chain)
    else:
        for name, result in (("portal", portal), ("chain", chain)):
            if result:
                ms = [s.total * 1000 for s in result["sequential"][0]]
                print(f"{name}: sequential p50 {pct(ms, 50):.1f} p99 {pct(ms, 99):.1f} ms; concurrent "
                      f"{len(result['concurrent'][0]) / result['concurrent'][2]:.1f} taps/s")


if __name__ == "__main__":
    main()
