"""What a group-commit batch pays to load its charge points (issue 14, item 3: "no lookups on the hot path"),
and what it pays with the node's charger cache instead.

    .venv/bin/python bench/prefetch_cost.py [--chargers 2000] [--rounds 300]   # DATABASE_URL=... for PostgreSQL

The writer calls ocpp_ingest.prefetch() once per batch: three queries (charge points with their site,
their connectors, their open transactions) for every charge point the batch's messages name. Caching
that state per connection and invalidating it through Redis would save exactly this; the script times
it (CPU and wall, per batch and per message) for the batch sizes the node sees, on a database holding
--chargers charge points with 2 connectors each and an open transaction on every second one.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from portal.db import Database  # noqa: E402
from portal.models import Transaction  # noqa: E402
from portal.services.ocpp_ingest import prefetch  # noqa: E402
from tests.factories import make_charge_point, make_site, standard_setup  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--chargers", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=300)
    args = p.parse_args()
    from portal.cli import upgrade_database

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp(prefix='bench-prefetch-')}/p.db"
    upgrade_database(url)
    db = Database.from_url(url)
    stamp = int(time.time())
    with db.session() as s:
        site = make_site(s, f"prefetch-{stamp}")
        group, _ = standard_setup(s, site)
        cps = [make_charge_point(s, site, f"PF{stamp}-{i}", connectors=2, group=group) for i in range(args.chargers)]
        s.flush()
        now = datetime.now(timezone.utc)
        for i, cp in enumerate(cps[::2]):
            s.add(Transaction(charge_point_id=cp.id, connector_id=1, id_tag="T", start_key=f"pf-{stamp}-{i}",
                              meter_start_wh=0, started_at=now))
        s.commit()
        identities = [cp.identity for cp in cps]
    print(f"prefetch per group-commit batch ({url.split(':', 1)[0]}, {args.chargers} charge points, "
          f"{args.rounds} batches each)")
    print(f"  {'batch':>5}  {'wall p50':>9} {'wall p99':>9} {'CPU mean':>9}  {'CPU per message':>15}")
    for size in (1, 4, 16, 64, 256):
        walls, cpus = [], []
        for _ in range(args.rounds):
            batch = set(random.sample(identities, size))
            with db.session() as s:
                w0, c0 = time.perf_counter(), time.process_time()
                prefetch(s, batch)
                cpus.append(time.process_time() - c0)
                walls.append(time.perf_counter() - w0)
                s.rollback()
        walls.sort()
        print(f"  {size:>5}  {walls[len(walls) // 2] * 1e3:7.2f}ms {walls[int(len(walls) * .99)] * 1e3:7.2f}ms "
              f"{statistics.fmean(cpus) * 1e3:7.2f}ms  {statistics.fmean(cpus) / size * 1e6:12.0f} µs")
    cached(db, identities, args.rounds)
    db.dispose()


def cached(db: Database, identities: list[str], rounds: int) -> None:
    """The same batches with the node's charger cache (ocpp_server.cache) holding every charger: what a
    batch pays instead (re-attaching the cached objects, keeping them after COMMIT), and a miss for
    comparison (the cache loading a charger it does not hold). The cache's session is long-lived, so the hit
    column includes the session's own per-batch work (begin, COMMIT, pruning)."""
    from ocpp_server.cache import ChargerCache

    cache = ChargerCache(max_age=3600)
    cache.enabled = True
    for i in range(0, len(identities), 200):  # warm: every charger cached
        s = cache.begin(db, {}, identities[i:i + 200])
        s.commit()
        cache.end(s, True)
    print(f"with the charger cache holding all {len(cache)} (hits), and loading them (misses)")
    print(f"  {'batch':>5}  {'hit wall p50':>12} {'hit CPU':>8}  {'CPU per msg':>11}  {'miss wall p50':>13} {'miss CPU':>8}")
    for size in (1, 4, 16, 64, 256):
        figures = []
        for hit in (True, False):
            walls, cpus = [], []
            for _ in range(rounds):
                batch = random.sample(identities, size)
                if not hit:
                    for identity in batch:
                        cache.forget(identity)
                w0, c0 = time.perf_counter(), time.process_time()
                s = cache.begin(db, {}, batch)
                s.commit()
                cache.end(s, True)
                cpus.append(time.process_time() - c0)
                walls.append(time.perf_counter() - w0)
            walls.sort()
            figures.append((walls[len(walls) // 2] * 1e3, statistics.fmean(cpus) * 1e3))
        (hw, hc), (mw, mc) = figures
        print(f"  {size:>5}  {hw:10.2f}ms {hc:6.2f}ms  {hc / size * 1e3:8.0f} µs  {mw:11.2f}ms {mc:6.2f}ms")


if __name__ == "__main__":
    main()
