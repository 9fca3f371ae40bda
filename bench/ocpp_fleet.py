"""A fleet of simulated chargers against our OCPP node and, in the same run, against a bare central system.

    .venv/bin/python bench/ocpp_fleet.py [--chargers 2000] [--heartbeat 10] [--meter 10] [--ramp 200]
        [--duration 60] [--targets bare,sqlite,postgresql] [--generators 1] [--processes 1]
        [--node-cpus 0] [--profile]

For every target the script starts the server as a real process (bare = bench/bare_csms.py, only the
`ocpp` and `websockets` packages and nothing stored; sqlite / postgresql = `python -m ocpp_server` with a
fresh database holding N charge points and a private redis-server), then G generator processes open N
WebSocket connections with Basic auth at --ramp connections per second. Each charger sends a
BootNotification and a StatusNotification, then a Heartbeat every --heartbeat s and a MeterValues every
--meter s (phases spread evenly), one call at a time as OCPP-J requires. After the ramp and a short
warm-up the script measures for --duration s and prints, side by side per target:

  connections held, connect p50/p99 (TCP + HTTP upgrade + auth), messages/s offered and answered,
  reply p50/p95/p99/max, the server's CPU (% of one core) and RSS per connection, errors.

The server is pinned to --node-cpus (default: CPU 0, i.e. "one core"); the generators to the other CPUs.
The generators build frames by hand (no schema validation on the client) to stay cheap; the server under
test validates strictly both ways. --profile records the node with py-spy (bench/requirements.txt) into
bench/out/ (--profile ramp: while the chargers connect; BENCH_PYSPY_GIL=1 samples only the thread holding
the GIL, which on a pinned core attributes CPU better than py-spy's default of every runnable thread). A benchmark, not a test: it asserts nothing and is never run by `make test`.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing as mp
import os
import random
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "bench-fleet-secret-0123456789"
TICK = os.sysconf("SC_CLK_TCK")


# --- the generator (runs in its own process) ------------------------------------------------------

@dataclass
class GenResult:
    connect_ms: list[float] = field(default_factory=list)
    reply_ms: list[float] = field(default_factory=list)
    offered: int = 0
    answered: int = 0
    held: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z"


async def _charger(url: str, identity: str, start_at: float, window: tuple[float, float], end_at: float,
                   hb: float, mv: float, res: GenResult) -> None:
    from websockets.asyncio.client import connect

    await asyncio.sleep(max(0.0, start_at - time.time()))
    auth = "Basic " + base64.b64encode(f"{identity}:{SECRET}".encode()).decode()
    t0 = time.perf_counter()
    try:
        ws = await connect(f"{url}/{identity}", subprotocols=["ocpp1.6"], additional_headers={"Authorization": auth},
                           compression=None, open_timeout=60, ping_interval=None, close_timeout=2, max_queue=4)
    except Exception as exc:  # refused, reset, timed out, HTTP error
        res.error(f"connect {type(exc).__name__}")
        return
    res.connect_ms.append((time.perf_counter() - t0) * 1000)
    res.held += 1
    seq = 0

    async def call(action: str, payload: dict) -> bool:
        nonlocal seq
        seq += 1
        uid = f"{seq}"
        sent_wall = time.time()
        measured = window[0] <= sent_wall < window[1]
        if measured:
            res.offered += 1
        t = time.perf_counter()
        await ws.send(json.dumps([2, uid, action, payload], separators=(",", ":")))
        while True:
            frame = json.loads(await ws.recv())
            if frame[0] == 2:  # a call from the server: answer it so the node is not kept waiting
                await ws.send(json.dumps([3, frame[1], {"status": "Accepted"}]))
                continue
            if frame[1] != uid:
                continue
            break
        if frame[0] != 3:
            res.error(f"{action} CALLERROR {frame[2]}")
            return False
        if measured:
            res.answered += 1
            res.reply_ms.append((time.perf_counter() - t) * 1000)
        return True

    try:
        await call("BootNotification", {"chargePointVendor": "Bench", "chargePointModel": "Fleet"})
        await call("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"})
        loop_start = time.time()
        next_hb = loop_start + random.uniform(0, hb)
        next_mv = loop_start + random.uniform(0, mv)
        register = random.randint(0, 10**6)
        while True:
            due = min(next_hb, next_mv)
            if due >= end_at:
                break
            await asyncio.sleep(max(0.0, due - time.time()))
            if next_hb <= next_mv:
                await call("Heartbeat", {})
                next_hb += hb
            else:
                register += random.randint(0, 3000)
                await call("MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": _now_iso(), "sampledValue": [
                    {"value": str(register), "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]})
                next_mv += mv
            now = time.time()
            while next_hb < now - hb:  # a late reply skipped a tick: the charger does not catch up
                next_hb += hb
            while next_mv < now - mv:
                next_mv += mv
    except Exception as exc:
        res.error(f"socket {type(exc).__name__}")
        res.held -= 1
        return
    await asyncio.sleep(max(0.0, end_at + 1 - time.time()))
    await ws.close()


def generator(url: str, identities: list[str], first_connect: float, rate: float, window: tuple[float, float],
              end_at: float, hb: float, mv: float, cpus: set[int] | None, out: mp.Queue, client: str = "lean") -> None:
    if cpus:
        os.sched_setaffinity(0, cpus)
    res = GenResult()
    if client == "lean":
        from bench.lean_fleet import run_fleet

        hostport, _, path = url.removeprefix("ws://").partition("/")
        host, _, port = hostport.partition(":")
        for k, v in run_fleet(host, int(port), "/" + path, SECRET, identities, first_connect, rate, window, end_at,
                              hb, mv).items():
            setattr(res, k, v)
        out.put(res)
        return

    async def fleet() -> None:
        await asyncio.gather(*(
            _charger(url, ident, first_connect + i / rate, window, end_at, hb, mv, res)
            for i, ident in enumerate(identities)))

    asyncio.run(fleet())
    out.put(res)


# --- the server under test ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.3):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not open its port")


def tree(pid: int) -> list[int]:
    pids, i = [pid], 0
    while i < len(pids):
        for task in Path(f"/proc/{pids[i]}/task").glob("*/children"):
            try:
                pids += [int(p) for p in task.read_text().split()]
            except OSError:
                pass
        i += 1
    return pids


def cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / TICK
        except (OSError, IndexError):
            pass
    return total


def rss_kib(pid: int) -> int:
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def provision(kind: str, n: int) -> tuple[str, callable]:
    """A fresh database with N charge points sharing SECRET (hashed once; each identity is verified alone)."""
    from sqlalchemy import insert, select

    from portal.cli import upgrade_database
    from portal.db import Database
    from portal.models import ChargePoint, Connector, Site
    from portal.services.people.secrets import hash_charger_secret
    from tests.support import services

    os.environ["TEST_DATABASE"] = kind
    url, drop = services.create_test_database()
    upgrade_database(url)
    db = Database.from_url(url)
    digest = hash_charger_secret(SECRET)
    with db.session() as s:
        site = Site(slug="bench-fleet", name="Bench fleet")
        s.add(site)
        s.flush()
        for start in range(0, n, 2000):
            s.execute(insert(ChargePoint), [{"identity": f"FLEET-{i:06d}", "site_id": site.id, "secret_hash": digest,
                                             "heartbeat_interval": 60} for i in range(start, min(n, start + 2000))])
        ids = s.execute(select(ChargePoint.id)).scalars().all()
        s.execute(insert(Connector), [{"charge_point_id": cp, "connector_id": c} for cp in ids for c in (0, 1)])
        s.commit()
    db.dispose()
    return url, drop


@dataclass
class Figures:
    target: str
    held: int = 0
    connect: list[float] = field(default_factory=list)
    reply: list[float] = field(default_factory=list)
    offered: float = 0
    answered: float = 0
    cpu_pct: float = 0
    ramp_cpu_ms: float = 0  # server CPU from the first connect to the window, per connection held
    ramp_cpu_pct: float = 0
    generator_cpu_pct: float = 0  # all generator processes together, % of one core
    kib_per_conn: float = 0
    batch: tuple[float, float] | None = None  # group commit in the window: batches/s, messages per batch
    errors: dict[str, int] = field(default_factory=dict)


def group_commit(port: int) -> dict | None:
    """The node's group-commit counters from its /healthz (None for the bare library)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return json.loads(response.read()).get("group_commit")
    except (OSError, ValueError):
        return None


def py_spy(pid: int, seconds: float, name: str) -> subprocess.Popen:
    """py-spy record of the node (the first process of the tree) into bench/out/<name>.speedscope.json."""
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    return subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
                             "--duration", str(max(1, int(seconds))), "--format", "speedscope", "--nonblocking",
                             *(["--gil"] if os.environ.get("BENCH_PYSPY_GIL") == "1" else []),
                             "-o", str(out / f"{name}.speedscope.json")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_target(target: str, args: argparse.Namespace, redis_url: str) -> Figures:
    port = free_port()
    drop = None
    node_cpus = {int(c) for c in args.node_cpus.split(",")} if args.node_cpus else None
    gen_cpus = (set(range(os.cpu_count() or 1)) - node_cpus) if node_cpus else None
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if target == "bare":
        cmd = [sys.executable, str(ROOT / "bench" / "bare_csms.py"), "--port", str(port), "--secret", SECRET,
               "--processes", str(args.processes)]
    else:
        print(f"[{target}] provisioning {args.chargers} charge points ...", flush=True)
        url, drop = provision(target, args.chargers)
        env.update(DATABASE_URL=url, REDIS_URL=redis_url, OCPP_HOST="127.0.0.1", OCPP_PORT=str(port),
                   OCPP_NODE_ID=f"bench-{target}")
        cmd = [sys.executable, "-m", "ocpp_server"]
        if args.processes > 1:  # N nodes on one port (SO_REUSEPORT), as `honcho start -c ocpp=N` runs them
            env.update(OCPP_REUSE_PORT="1", OCPP_NODE_ID="")
            node = " ".join(shlex.quote(part) for part in cmd)
            cmd = ["sh", "-c", f"for i in $(seq {args.processes}); do {node} & done; wait"]
    log_path = Path(tempfile.gettempdir()) / f"bench-fleet-{target}.log"
    log = open(log_path, "w")
    node_root = Path(args.node_root).resolve() if args.node_root and target != "bare" else ROOT
    proc = subprocess.Popen(cmd, cwd=node_root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            preexec_fn=(lambda: os.sched_setaffinity(0, node_cpus)) if node_cpus else None)
    spy = None
    try:
        wait_port(port, proc)
        time.sleep(1.0 if args.processes <= 1 or target == "bare" else 5.0)  # every node process up
        idle_rss = rss_kib(proc.pid)
        identities = [f"FLEET-{i:06d}" for i in range(args.chargers)]
        g = max(1, args.generators)
        first = time.time() + 2.0
        ramp_s = args.chargers / args.ramp
        window = (first + ramp_s + args.warmup, first + ramp_s + args.warmup + args.duration)
        end_at = window[1] + 0.5
        queue: mp.Queue = mp.get_context("spawn").Queue()
        gens = [mp.get_context("spawn").Process(target=generator, args=(
            f"ws://127.0.0.1:{port}/ocpp", identities[k::g], first + k / args.ramp, args.ramp / g, window, end_at,
            args.heartbeat, args.meter, gen_cpus, queue, args.client)) for k in range(g)]
        for p in gens:
            p.start()
        print(f"[{target}] ramp {ramp_s:.0f} s + warm-up {args.warmup:.0f} s, then measuring {args.duration:.0f} s",
              flush=True)
        time.sleep(max(0.0, first - time.time()))
        ramp_cpu0 = cpu_seconds(proc.pid)
        if args.profile == "ramp" and target != "bare":
            spy = py_spy(proc.pid, ramp_s, f"fleet-{target}-ramp")
        time.sleep(max(0.0, window[0] - time.time()))
        ramp_cpu1 = cpu_seconds(proc.pid)
        if args.profile == "steady" and target != "bare":
            spy = py_spy(proc.pid, args.duration, f"fleet-{target}")
        cpu0, gc0 = cpu_seconds(proc.pid), group_commit(port)
        gen_cpu0 = sum(cpu_seconds(p.pid) for p in gens)
        time.sleep(max(0.0, window[1] - time.time()))
        cpu1, gc1 = cpu_seconds(proc.pid), group_commit(port)
        gen_cpu1 = sum(cpu_seconds(p.pid) for p in gens)
        rss = rss_kib(proc.pid)
        results = [queue.get(timeout=args.duration + ramp_s + 120) for _ in gens]
        for p in gens:
            p.join(30)
    finally:
        if spy is not None:
            spy.wait(30)
        os.killpg(proc.pid, signal.SIGTERM)  # the server and any processes it started (--processes N)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever did not stop in time
        except ProcessLookupError:
            pass
        log.close()
        if drop is not None:
            drop()
    fig = Figures(target)
    for r in results:
        fig.held += r.held
        fig.connect += r.connect_ms
        fig.reply += r.reply_ms
        fig.offered += r.offered / args.duration
        fig.answered += r.answered / args.duration
        for k, v in r.errors.items():
            fig.errors[k] = fig.errors.get(k, 0) + v
    fig.cpu_pct = (cpu1 - cpu0) / args.duration * 100
    fig.ramp_cpu_ms = (ramp_cpu1 - ramp_cpu0) * 1000 / max(1, fig.held)
    fig.ramp_cpu_pct = (ramp_cpu1 - ramp_cpu0) / (window[0] - first) * 100
    fig.generator_cpu_pct = (gen_cpu1 - gen_cpu0) / args.duration * 100
    if gc0 and gc1 and args.processes <= 1 and gc1["batches"] > gc0["batches"]:
        batches = gc1["batches"] - gc0["batches"]
        fig.batch = (batches / args.duration, (gc1["items"] - gc0["items"]) / batches)
    fig.kib_per_conn = (rss - idle_rss) / max(1, fig.held)
    return fig


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered))) - 1))]


def report(figs: list[Figures], args: argparse.Namespace) -> None:
    target_rate = args.chargers * (1 / args.heartbeat + 1 / args.meter)
    print(f"\n{args.chargers} chargers, Heartbeat every {args.heartbeat:g} s, MeterValues every {args.meter:g} s "
          f"({target_rate:.0f} msg/s wanted), ramp {args.ramp:g}/s, {args.generators} generator process(es), "
          f"{args.client} client, node processes {args.processes or 1}, node CPUs {args.node_cpus or 'all'}, measured {args.duration:g} s"
          + (f", node code from {args.node_root}" if args.node_root else ""))
    rows = [
        ("connections held", lambda f: f"{f.held}"),
        ("connect p50 / p99 ms", lambda f: f"{pct(f.connect, 50):.0f} / {pct(f.connect, 99):.0f}"),
        ("ramp: server CPU %, ms/conn", lambda f: f"{f.ramp_cpu_pct:.0f}, {f.ramp_cpu_ms:.2f}"),
        ("msg/s offered / answered", lambda f: f"{f.offered:.0f} / {f.answered:.0f}"),
        ("reply p50 / p95 ms", lambda f: f"{pct(f.reply, 50):.1f} / {pct(f.reply, 95):.1f}"),
        ("reply p99 / max ms", lambda f: f"{pct(f.reply, 99):.1f} / {max(f.reply, default=float('nan')):.0f}"),
        ("server CPU % of a core", lambda f: f"{f.cpu_pct:.0f}"),
        ("generators' CPU % of a core", lambda f: f"{f.generator_cpu_pct:.0f}"),
        ("RSS KiB per connection", lambda f: f"{f.kib_per_conn:.1f}"),
        ("group commits/s, msg each", lambda f: f"{f.batch[0]:.0f}, {f.batch[1]:.1f}" if f.batch else "-"),
        ("errors", lambda f: str(sum(f.errors.values()))),
    ]
    width = 24
    print(f"{'':<28}" + "".join(f"{f.target:>{width}}" for f in figs))
    for label, fn in rows:
        print(f"{label:<28}" + "".join(f"{fn(f):>{width}}" for f in figs))
    for f in figs:
        if f.errors:
            print(f"  {f.target} errors: " + ", ".join(f"{k} x{v}" for k, v in sorted(f.errors.items())))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--chargers", type=int, default=2000)
    p.add_argument("--heartbeat", type=float, default=10.0)
    p.add_argument("--meter", type=float, default=10.0)
    p.add_argument("--ramp", type=float, default=200.0, help="new connections per second")
    p.add_argument("--duration", type=float, default=60.0)
    p.add_argument("--warmup", type=float, default=5.0)
    p.add_argument("--targets", default="bare,sqlite,postgresql")
    p.add_argument("--generators", type=int, default=1)
    p.add_argument("--processes", type=int, default=1, help="node processes sharing the port (OCPP_REUSE_PORT=1)")
    p.add_argument("--client", choices=("lean", "websockets"), default="lean",
                   help="lean: bench/lean_fleet.py (one protocol object per charger, one timer); websockets: a "
                        "websockets client task per charger (the earlier generator, for comparison)")
    p.add_argument("--node-cpus", default="0", help="CPUs the server is pinned to ('' = not pinned)")
    p.add_argument("--node-root", default="",
                   help="run the node from another checkout (e.g. a worktree of the baseline commit) with the same "
                        "generator, for a before/after in one run")
    p.add_argument("--profile", nargs="?", const="steady", choices=("steady", "ramp"),
                   help="py-spy record the node during the measurement (or during the connection ramp)")
    args = p.parse_args()
    from tests.support.services import RedisServer

    redis = RedisServer() if any(t != "bare" for t in args.targets.split(",")) else None
    figs = []
    try:
        for target in args.targets.split(","):
            figs.append(run_target(target.strip(), args, redis.url if redis else ""))
            if redis is not None:
                subprocess.run(["redis-cli", "-p", str(redis.port), "flushall"], stdout=subprocess.DEVNULL)
    finally:
        if redis is not None:
            redis.stop()
    report(figs, args)


if __name__ == "__main__":
    main()
