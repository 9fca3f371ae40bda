"""Resident pages under load: the start screen, favourites and the live outlet fragment against gunicorn.

    .venv/bin/python bench/pages.py [--users 50] [--duration 20] [--workers 2] [--threads 4] [--clients 2]

Self-contained: a private redis-server, a fresh database (SQLite, or --database postgresql, or DATABASE_URL=...),
N residents with access to a site with chargers, and gunicorn as `make run` starts it. Each simulated user
logs in for real, then requests one page after another (keep-alive, no think time) for --duration s;
users are threads spread over --clients processes. Prints per page: requests/s, p50/p95/p99 as the
client saw it, server time p50/p95/p99 (gunicorn's own %(D)s in its access log) and bytes per response.
Pages: start  = GET /c/<identity> (full start screen), favourites = GET /favorites,
       live   = GET /c/<identity> with HX-Request (the outlet fragment the start screen polls every second).
A benchmark, not a test.
"""
from __future__ import annotations

import argparse
import http.client
import http.cookiejar
import multiprocessing as mp
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PAGES = ("start", "favourites", "live")


def prepare(database_url: str, users: int) -> tuple[list[str], str]:
    from portal.cli import upgrade_database
    from portal.db import Database
    from tests.factories import make_charge_point, make_site, make_user, standard_setup, subscribe

    upgrade_database(database_url)
    db = Database.from_url(database_url)
    with db.session() as s:
        site = make_site(s, "bench-pages")
        group, plan = standard_setup(s, site)
        cps = [make_charge_point(s, site, f"PAGES-{i}", connectors=2, group=group) for i in range(4)]
        emails = []
        for i in range(users):
            user = make_user(s, f"pages{i}@bench.test", site=site)
            subscribe(s, user, plan)
            emails.append(user.email)
        s.commit()
        identity = cps[0].identity
    db.dispose()
    return emails, identity


def login(base: str, email: str) -> str:
    """Log in like a browser; returns the Cookie header of the session."""
    from tests.factories import PASSWORD

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/login", timeout=30).read().decode()
    token = CSRF_RE.search(page).group(1)
    body = urllib.parse.urlencode({"email": email, "password": PASSWORD, "next": "", "csrf_token": token}).encode()
    opener.open(urllib.request.Request(base + "/login", data=body), timeout=30).read()
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def client(host: str, port: int, cookies: list[str], identity: str, page: str, until: float, out: mp.Queue) -> None:
    results: list[tuple[float, int]] = []
    lock = threading.Lock()
    path = "/favorites" if page == "favourites" else f"/c/{identity}"
    extra = {"HX-Request": "true", "HX-Target": "outlets"} if page == "live" else {}

    def user(cookie: str) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        mine = []
        while time.time() < until:
            t = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": cookie, **extra})
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise SystemExit(f"{path}: HTTP {response.status}")
            mine.append(((time.perf_counter() - t) * 1000, len(body)))
        conn.close()
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=user, args=(c,)) for c in cookies]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    out.put(results)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered))) - 1))] if ordered else float("nan")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--duration", type=float, default=20)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--clients", type=int, default=2)
    p.add_argument("--pages", default=",".join(PAGES))
    p.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                   help="postgresql: a fresh database on TEST_POSTGRES_URL's server (default postgres@127.0.0.1:5432), "
                        "dropped afterwards; DATABASE_URL overrides")
    args = p.parse_args()
    from tests.support.services import RedisServer, free_port

    redis = RedisServer()
    folder = tempfile.mkdtemp(prefix="bench-pages-")
    drop = None
    if os.environ.get("DATABASE_URL"):
        database_url = os.environ["DATABASE_URL"]
    elif args.database == "postgresql":
        os.environ["TEST_DATABASE"] = "postgresql"
        from tests.support.services import create_test_database

        database_url, drop = create_test_database()
    else:
        database_url = f"sqlite:///{folder}/portal.db"
    emails, identity = prepare(database_url, args.users)
    port = free_port()
    access_log = Path(folder) / "access.log"
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis.url, RATELIMIT_ENABLED="false",
               SECRET_KEY="bench-secret-not-for-production-0123456789", PORTAL_BASE_URL=f"http://127.0.0.1:{port}")
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "portal:create_app()", "--bind", f"127.0.0.1:{port}",
                            "--workers", str(args.workers), "--threads", str(args.threads),
                            "--access-logfile", str(access_log), "--access-logformat", "%(m)s %(U)s %(s)s %(D)s %(h)s",
                            "--no-control-socket", "--keep-alive", "30"],
                           cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2).read()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start")
                time.sleep(0.2)
        cookies = [login(base, e) for e in emails]
        print(f"{args.users} users logged in; gunicorn {args.workers} workers x {args.threads} threads, "
              f"database {database_url.split(':', 1)[0]}, {args.duration:g} s per page", flush=True)
        rows = []
        for page in args.pages.split(","):
            access_log.write_text("")
            ctx = mp.get_context("spawn")
            queue = ctx.Queue()
            until = time.time() + args.duration
            procs = [ctx.Process(target=client, args=("127.0.0.1", port, cookies[k::args.clients], identity, page,
                                                     until, queue)) for k in range(args.clients)]
            for pr in procs:
                pr.start()
            samples = [s for _ in procs for s in queue.get(timeout=args.duration + 60)]
            for pr in procs:
                pr.join()
            time.sleep(0.5)
            server_ms = [int(line.split()[3]) / 1000 for line in access_log.read_text().splitlines()
                         if len(line.split()) >= 4 and line.split()[2] == "200"]
            ms = [s[0] for s in samples]
            rows.append((page, len(ms) / args.duration, pct(ms, 50), pct(ms, 95), pct(ms, 99),
                         pct(server_ms, 50), pct(server_ms, 95), pct(server_ms, 99),
                         sum(s[1] for s in samples) / max(1, len(samples))))
    finally:
        web.terminate()
        web.wait(10)
        redis.stop()
        if drop:
            drop()
    print(f"{'page':<12}{'req/s':>8}{'client p50/p95/p99 ms':>26}{'server p50/p95/p99 ms':>26}{'bytes':>8}")
    for page, rps, c50, c95, c99, s50, s95, s99, size in rows:
        print(f"{page:<12}{rps:>8.0f}{f'{c50:.1f} / {c95:.1f} / {c99:.1f}':>26}{f'{s50:.1f} / {s95:.1f} / {s99:.1f}':>26}"
              f"{size:>8.0f}")


if __name__ == "__main__":
    main()
