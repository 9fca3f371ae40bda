"""Does the node's charger cache (ocpp_server.cache) still pay for its size? (issue 26)

    .venv/bin/python bench/cache_worth.py [--chargers 2000] [--rounds 5] [--concurrency 256]
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/some_fresh_db .venv/bin/python bench/cache_worth.py

Each connection now holds its charge point id and its open transactions, so a MeterValues (most of what a
node writes) names no charger lookup of its own. What it still needs is the Transaction object whose
register it moves (and the batch's COMMIT). The script runs the node's real GroupWriter over the same
message mix three ways and prints CPU and wall per message, SQL statements per batch and the memory kept:

  cache      the node as it is: one long-lived session, chargers and open transactions kept between batches
  prefetch   no cache: each batch loads the chargers it names (charge points with site and connectors,
             open transactions: three queries), as the writer's removed `prefetch` path did
  lookup     no cache, no prefetch: every message looks up what it needs itself

Mix per round: every charger sends one MeterValues (the connection passes its charge point id and open
transaction), every tenth also a StatusNotification that changes its status. --concurrency messages are
in flight at once (batches form as on a busy node).
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, select  # noqa: E402
from sqlalchemy.orm import joinedload, selectinload  # noqa: E402

from ocpp_server.batch import WriteBatch  # noqa: E402
from ocpp_server.cache import ChargerCache  # noqa: E402
from ocpp_server.writer import GroupWriter  # noqa: E402
from portal.db import Database  # noqa: E402
from portal.models import ChargePoint, Transaction  # noqa: E402
from portal.services import ocpp_ingest  # noqa: E402
from tests.factories import make_charge_point, make_site, standard_setup  # noqa: E402


class Prefetch:
    """The writer's `cache` interface without keeping anything: each batch loads what it names."""

    def begin(self, factory: Any, batch: WriteBatch, identities: list[str]) -> Any:
        session = factory()
        cps = session.scalars(select(ChargePoint).where(ChargePoint.identity.in_(identities))
                              .options(joinedload(ChargePoint.site), selectinload(ChargePoint.connectors))).unique().all()
        for cp in cps:
            batch.hold(cp, [], 0.0)
        if cps:
            for tx in session.scalars(select(Transaction).where(
                    Transaction.charge_point_id.in_([cp.id for cp in cps]), Transaction.status == "active")
                    .order_by(Transaction.started_at)):
                batch.transactions[tx.charge_point_id].append(tx)
        return session

    def end(self, session: Any, batch: WriteBatch, committed: bool) -> None:
        session.close()


class Kept:
    """The node's own announcer, minus Redis: the cache learns of its own writes."""

    def __init__(self, cache: ChargerCache) -> None:
        self.cache = cache

    def announce(self, found: Any) -> None:
        self.cache.written(found)


def setup(db: Database, chargers: int) -> list[tuple[str, int, int]]:
    stamp = int(time.time())
    with db.session() as s:
        site = make_site(s, f"cacheworth-{stamp}")
        group, _ = standard_setup(s, site)
        cps = [make_charge_point(s, site, f"CW{stamp}-{i}", connectors=1, group=group) for i in range(chargers)]
        s.flush()
        now = datetime.now(timezone.utc) - timedelta(hours=1)
        txs = [Transaction(charge_point_id=cp.id, connector_id=1, id_tag="T", start_key=f"cw-{stamp}-{i}",
                           meter_start_wh=0, started_at=now, status="active", meter_flags=[])
               for i, cp in enumerate(cps)]
        s.add_all(txs)
        s.flush()
        out = [(cp.identity, cp.id, tx.id) for cp, tx in zip(cps, txs)]
        s.commit()
    return out


async def run(db: Database, way: str, fleet: list[tuple[str, int, int]], rounds: int, concurrency: int,
              trace: bool = False) -> dict:
    """One way over the fleet; trace: measure the memory the cache keeps (tracemalloc, so not the timing)."""
    cache = ChargerCache(max_age=3600) if way == "cache" else None
    if cache is not None:
        cache.enabled = True
    loader = cache if cache is not None else (Prefetch() if way == "prefetch" else None)  # (an empty cache is falsy)
    writer = GroupWriter(db, cache=loader, session_factory=db.tracked_sessions(
        Kept(cache) if cache is not None else None))
    statements = [0]
    event.listen(db.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
    gate = asyncio.Semaphore(concurrency)
    base = datetime.now(timezone.utc)

    async def message(fn: Any, identity: str, **kwargs: Any) -> None:
        async with gate:
            if way == "lookup":
                await writer.submit(fn, identity, **kwargs)
            else:
                await writer.submit_for(identity, fn, **kwargs)

    def round_of(r: int) -> list:
        at = base + timedelta(seconds=10 * r)
        msgs = []
        for i, (identity, cp_id, tx_id) in enumerate(fleet):
            sample = [{"timestamp": at, "sampled_value": [{"value": str(1000 * (r + 1) + i % 7), "unit": "Wh"}]}]
            msgs.append(message(ocpp_ingest.meter_values, identity, connector_id=1, transaction_id=tx_id,
                                meter_value=sample, now=at, charge_point_id=cp_id, open_transaction_id=tx_id))
            if i % 10 == r % 10:
                msgs.append(message(ocpp_ingest.status_notification, identity, connector_id=1,
                                    status="Charging" if r % 2 else "SuspendedEV", error_code="NoError", info=None,
                                    vendor_error_code=None, timestamp=at, now=at))
        return msgs

    if trace:
        tracemalloc.start()
    writer.start()
    await asyncio.gather(*round_of(0))  # warm-up: the cache loads every charger once
    statements[0], b0, i0 = 0, writer.batches, writer.items
    cpu, wall = time.process_time(), time.perf_counter()
    for r in range(1, rounds + 1):
        await asyncio.gather(*round_of(r))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await writer.stop()
    items, batches = writer.items - i0, writer.batches - b0
    kept = 0
    if cache is not None and trace:  # what the cache holds: the memory its entries and session free when closed
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
        cache.close()
        gc.collect()
        kept = held - tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return {"way": way, "cpu_us": cpu / items * 1e6, "wall_us": wall / items * 1e6, "items": items,
            "per_batch": items / max(batches, 1), "sql_per_batch": statements[0] / max(batches, 1),
            "kept_kib": kept / 1024, "per_charger": kept / len(fleet), "retried": writer.retried_batches}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--chargers", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--concurrency", type=int, default=256)
    p.add_argument("--ways", default="cache,prefetch,lookup")
    args = p.parse_args()
    from portal.cli import upgrade_database

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp(prefix='bench-cache-')}/c.db"
    upgrade_database(url)
    db = Database.from_url(url, redis_url="")
    print(f"charger cache worth ({url.split(':', 1)[0]}, {args.chargers} chargers, {args.rounds} rounds, "
          f"{args.concurrency} in flight)")
    print(f"  {'way':<9} {'CPU/msg':>9} {'wall/msg':>9} {'msgs/batch':>10} {'SQL/batch':>9} {'memory kept':>12}")
    for way in args.ways.split(","):
        fleet = setup(db, args.chargers)
        r = asyncio.run(run(db, way, fleet, args.rounds, args.concurrency))
        if way == "cache":
            r.update({k: v for k, v in asyncio.run(run(db, way, fleet, 1, args.concurrency, trace=True)).items()
                      if k in ("kept_kib", "per_charger")})
        print(f"  {way:<9} {r['cpu_us']:>7.0f}us {r['wall_us']:>7.0f}us {r['per_batch']:>10.1f} "
              f"{r['sql_per_batch']:>9.1f} {r['kept_kib']:>9.0f} KiB  ({r['per_charger'] / 1024:.1f} KiB/charger; {r['items']} msgs, "
              f"{r['retried']} retried)")
    db.dispose()


if __name__ == "__main__":
    main()
