"""Per-job overhead of rq.Worker (fork per job) against rq.SimpleWorker (no fork).

    .venv/bin/python bench/worker_fork_cost.py [--jobs 200] [--redis redis://127.0.0.1:6379/15]

Enqueues N trivial jobs, runs one burst worker of each class over them in this process (the
app's modules preloaded as `python -m worker` does) and prints the wall time per job.
Uses (and empties) its own queue name on the given Redis.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from redis import Redis
from rq import Queue, SimpleWorker, Worker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
QUEUE = "bench-fork-cost"


def measure(conn: Redis, worker_class, jobs: int) -> float:
    queue = Queue(QUEUE, connection=conn)
    queue.empty()
    for i in range(jobs):
        queue.enqueue("portal.services.charging.action_queue.job_id_for", i, result_ttl=0)
    start = time.perf_counter()
    worker_class([queue], connection=conn).work(burst=True, logging_level="WARNING")
    return (time.perf_counter() - start) / jobs


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--jobs", type=int, default=200)
    p.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = p.parse_args()
    from worker.__main__ import preload

    preload()
    conn = Redis.from_url(args.redis)
    for cls in (Worker, SimpleWorker, Worker, SimpleWorker):
        print(f"{cls.__name__:13s} {measure(conn, cls, args.jobs) * 1000:7.2f} ms per job ({args.jobs} jobs)")


if __name__ == "__main__":
    main()
