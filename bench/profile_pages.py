"""Where the start screen and the live fragment spend their time, in process (no gunicorn, no network).

    .venv/bin/python bench/profile_pages.py [--requests 300] [--page start|live]
    .venv/bin/py-spy record -o bench/out/start.speedscope.json -f speedscope -- \
        .venv/bin/python bench/profile_pages.py --page start --requests 2000

Builds the same data as bench/pages.py in a fresh SQLite database, logs a resident in with Flask's
test client, then requests the page --requests times and prints: server time per request (mean,
p95), SQL statements per request (counted with a SQLAlchemy event, with the most repeated ones) and
the top functions by cumulative time from cProfile. A benchmark helper, not a test.
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pages import prepare  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=300)
    p.add_argument("--page", choices=("start", "live", "tap"), default="start",
                   help="tap = the start POST (each request's action is closed afterwards, uncounted, so the "
                        "next is not a double tap; Redis is unreachable, so the request is kept as 'busy')")
    p.add_argument("--no-cprofile", action="store_true", help="only time and count (e.g. under py-spy)")
    args = p.parse_args()
    from sqlalchemy import event

    from portal import create_app
    from tests.factories import PASSWORD

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp(prefix='bench-prof-')}/p.db"
    emails, identity = prepare(url, 1)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-secret-not-for-production", "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False, "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:1/0")})
    client = app.test_client()
    answer = client.post("/login", data={"email": emails[0], "password": PASSWORD, "next": ""})
    assert answer.status_code in (302, 303), answer.status_code
    headers = {"HX-Request": "true"} if args.page == "live" else {}
    path = f"/c/{identity}"
    statements: collections.Counter[str] = collections.Counter()

    def count(conn, cursor, statement, *rest) -> None:
        statements[re.sub(r"\s+", " ", statement)[:150]] += 1

    engine = app.extensions["portal_db"].engine

    def request_once():
        if args.page != "tap":
            return client.get(path, headers=headers)
        response = client.post(path + "/start", data={"connector": "1"})
        assert response.status_code == 303, response.status_code
        event.remove(engine, "before_cursor_execute", count)
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE action_requests SET state = 'accepted' WHERE state IN ('queued', 'sent')")
        event.listen(engine, "before_cursor_execute", count)
        return response

    event.listen(engine, "before_cursor_execute", count)
    for _ in range(20):  # warm caches, templates, connections
        assert request_once().status_code in (200, 303)
    statements.clear()
    profile = None if args.no_cprofile else cProfile.Profile()
    times = []
    size = 0
    cpu0 = time.process_time()
    for _ in range(args.requests):
        t0 = time.perf_counter()
        if profile:
            profile.enable()
        response = request_once()
        if profile:
            profile.disable()
        times.append(time.perf_counter() - t0)
        size = len(response.data)
    cpu = (time.process_time() - cpu0) / args.requests
    times.sort()
    print(f"{args.page}: {args.requests} requests, mean {sum(times) / len(times) * 1e3:.2f} ms "
          f"(CPU {cpu * 1e3:.2f} ms: steadier than wall time on a shared machine), "
          f"p95 {times[int(len(times) * .95)] * 1e3:.2f} ms, {size} bytes, "
          f"{sum(statements.values()) / args.requests:.1f} SQL statements per request")
    for statement, n in statements.most_common(12):
        print(f"  {n / args.requests:5.1f}x  {statement}")
    if profile:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(35)


if __name__ == "__main__":
    main()
