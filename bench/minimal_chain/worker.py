"""Minimal chain, worker: `python -m bench.minimal_chain.worker --processes N` (RQ SimpleWorker(s), REDIS_URL)."""
from __future__ import annotations

import argparse
import os

from redis import Redis
from rq import SimpleWorker
from rq.worker_pool import WorkerPool

import bench.minimal_chain.jobs  # noqa: F401  (preloaded, like the portal's worker)
from bench.minimal_chain import QUEUE

if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--processes", type=int, default=1)
    args = p.parse_args()
    connection = Redis.from_url(os.environ["REDIS_URL"])
    if args.processes <= 1:
        SimpleWorker([QUEUE], connection=connection).work(logging_level="WARNING")
    else:
        WorkerPool([QUEUE], connection=connection, num_workers=args.processes,
                   worker_class=SimpleWorker).start(logging_level="WARNING")
