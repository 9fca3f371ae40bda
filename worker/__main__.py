"""`python -m worker`: RQ workers on the queues charger, default, mail (in that priority order),
RQ's scheduler for delayed retries, and RQ's CronScheduler for worker.periodic.periodic_jobs().

    python -m worker [--processes N] [--worker-class simple|fork] [--burst] [--no-cron]

Worker class: SimpleWorker (the job runs in the worker process, no fork per job).
Measured with bench/worker_fork_cost.py on the shared 2-core development box (200 trivial
jobs, one worker, burst mode, the app's modules preloaded; two rounds each):
    rq.Worker (fork per job)   19.7 / 20.4 ms per job   (fork + work-horse bookkeeping)
    rq.SimpleWorker             4.2 /  4.4 ms per job   (RQ's own Redis round trips only)
A remote start is one short job whose latency the resident feels, so the fork is a large part
of it; SimpleWorker also keeps the database engine and Redis pool warm between jobs. The price:
a job that crashes the interpreter takes the worker with it; our jobs are plain Python with an
RQ job timeout, and the pool below replaces a dead worker process. Because a charger call can
wait up to its deadline for an answer, several worker processes run side by side
(WORKER_PROCESSES, default 2) so one silent charger does not hold up other starts.

Periodic jobs: one CronScheduler per deployment (a Redis lock elects it; other worker hosts
stand by and take over within CRON_LOCK_TTL_S if it dies).
"""
from __future__ import annotations

import argparse
import importlib
import logging
import multiprocessing
import os
import signal
import time

from redis import Redis
from rq import SimpleWorker, Worker
from rq.cron import CronScheduler
from rq.exceptions import StopRequested
from rq.worker_pool import WorkerPool

from portal import settings
from worker.periodic import periodic_jobs

log = logging.getLogger("worker")
CRON_LOCK_KEY = "worker:cron:leader"
CRON_LOCK_TTL_S = 30  # refreshed on every heartbeat, at least every CRON_TICK_S
CRON_TICK_S = 5
WORKER_CLASSES = {"simple": SimpleWorker, "fork": Worker}


def resolve(dotted: str):
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


class LeaderCronScheduler(CronScheduler):
    """RQ's CronScheduler that runs only while it holds the deployment-wide cron lock.

    Only public methods are extended. `start()` returns both when RQ's own SIGTERM/SIGINT handler stops
    it and when `heartbeat` finds the lock lost; `lost_lead` tells the two apart."""

    lost_lead = False

    def try_lead(self) -> bool:
        self.lost_lead = False
        return bool(self.connection.set(CRON_LOCK_KEY, self.name, nx=True, ex=CRON_LOCK_TTL_S))

    def heartbeat(self) -> None:
        super().heartbeat()
        if self.connection.get(CRON_LOCK_KEY) != self.name.encode():
            self.log.warning("cron lock lost; standing by")
            self.lost_lead = True
            raise StopRequested()
        self.connection.expire(CRON_LOCK_KEY, CRON_LOCK_TTL_S)

    def calculate_sleep_interval(self) -> float:
        return min(super().calculate_sleep_interval(), CRON_TICK_S)

    def release(self) -> None:
        if self.connection.get(CRON_LOCK_KEY) == self.name.encode():
            self.connection.delete(CRON_LOCK_KEY)


def register_periodic(cron: CronScheduler) -> None:
    for job in periodic_jobs():
        cron.register(resolve(job.func), job.queue, kwargs=job.kwargs, interval=job.interval, cron=job.cron,
                      job_timeout=job.timeout, ttl=job.interval or 3600, result_ttl=600)


def run_cron(redis_url: str) -> None:
    """Child process: wait for the cron lock, then run RQ's CronScheduler until stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    cron = LeaderCronScheduler(connection=Redis.from_url(redis_url))
    register_periodic(cron)
    try:
        while True:
            if not cron.try_lead():
                time.sleep(CRON_LOCK_TTL_S / 6)
                continue
            log.info("cron scheduler %s leads: %d periodic jobs", cron.name, len(cron.get_jobs()))
            try:
                cron.start()  # returns when stopped by a signal or when the lock is lost
            finally:
                cron.release()
            if not cron.lost_lead:
                return
    except StopRequested:  # a signal while standing by (RQ's handler is installed once it first led)
        return


def preload() -> None:
    """Import what jobs need once, before workers start (SimpleWorker keeps it for every job)."""
    for module in ("portal.models", "portal.services.charging.actions", "worker.jobs.charger", "worker.jobs.mail",
                   "worker.jobs.offline", "worker.jobs.spot", "worker.jobs.message_log",
                   "worker.jobs.statements"):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            log.warning("could not preload %s: %s", module, exc)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m worker", description="RQ workers for the portal")
    p.add_argument("--processes", type=int, default=settings.get("worker_processes"))
    p.add_argument("--worker-class", choices=sorted(WORKER_CLASSES), default="simple")
    p.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    p.add_argument("--no-cron", action="store_true", help="do not run periodic jobs from this host")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redis_url = settings.get("redis_url")
    preload()
    cron = None
    if not args.no_cron and not args.burst:
        cron = multiprocessing.Process(target=run_cron, args=(redis_url,), name="rq-cron", daemon=True)
        cron.start()
    connection = Redis.from_url(redis_url)
    worker_class = WORKER_CLASSES[args.worker_class]
    log.info("worker pid %d: %d x %s on queues %s", os.getpid(), args.processes, worker_class.__name__,
             ", ".join(settings.QUEUES))
    try:
        if args.processes <= 1:
            worker_class(list(settings.QUEUES), connection=connection).work(
                burst=args.burst, with_scheduler=True, logging_level="INFO")
        else:
            WorkerPool(list(settings.QUEUES), connection=connection, num_workers=args.processes,
                       worker_class=worker_class).start(burst=args.burst, logging_level="INFO")
    finally:
        if cron is not None and cron.is_alive():
            cron.terminate()
            cron.join(5)


if __name__ == "__main__":
    main()
