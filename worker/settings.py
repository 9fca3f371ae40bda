"""Queues, timeouts, TTLs and the periodic jobs of `python -m worker`.

Every figure can be overridden by an environment variable of the same name (seconds).
To add a periodic job, append one line to PERIODIC_JOBS (the function is named by its dotted
path, so nothing is imported here). Periodic jobs must be safe to run twice.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field


def _seconds(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


# Queues in the order a worker takes jobs from them: a start never waits behind an e-mail.
CHARGER_QUEUE = "charger"
DEFAULT_QUEUE = "default"
MAIL_QUEUE = "mail"
QUEUES = (CHARGER_QUEUE, DEFAULT_QUEUE, MAIL_QUEUE)

# --- charger actions ---------------------------------------------------------------------------
# A request must have reached the charger and been answered within this many seconds of its
# creation; after that it is never sent (a start sent minutes late surprises the person who left).
ACTION_DEADLINE_S = _seconds("ACTION_DEADLINE_S", 45)
# The job is killed after this long; it waits at most until the request's deadline plus a margin.
ACTION_JOB_TIMEOUT_S = int(ACTION_DEADLINE_S + 15)
# A job still waiting in Redis after the deadline is pointless: RQ drops it (the row shows why).
ACTION_JOB_TTL_S = int(ACTION_DEADLINE_S)
ACTION_RESULT_TTL_S = 600
ACTION_FAILURE_TTL_S = 24 * 3600
# Retries only cover failures before the request is claimed (queued -> sent); after that a
# repeated job finds the row no longer 'queued' and does nothing.
ACTION_RETRY_INTERVALS_S = (1, 3)
# A request left 'sent' (worker gone) or 'queued' (job lost) this long past its deadline is closed.
SWEEP_GRACE_S = _seconds("ACTION_SWEEP_GRACE_S", 10)
SWEEP_INTERVAL_S = int(_seconds("ACTION_SWEEP_INTERVAL_S", 15))
# An accepted remote start without a StartTransaction after this long gets no_start_flag, and stops
# holding its connector (the person may start again); an accepted stop without a StopTransaction too.
# Longer than the usual ConnectionTimeOut of chargers (30-60 s, the time they wait for the car after
# accepting): by then the charger has given up its own wait, so a new start is not refused for it.
NO_START_AFTER_S = _seconds("ACTION_NO_START_AFTER_S", 90)
# A start or stop tapped again this soon after the same person's last one lands on that one, whatever
# became of it (a shaky finger's six taps make one request even when the charger refuses at once).
START_TAP_WINDOW_S = _seconds("ACTION_TAP_WINDOW_S", 5)

# --- worker process ------------------------------------------------------------------------------
# See worker/__main__.py for the measurement behind the choice of SimpleWorker.
WORKER_PROCESSES = int(os.environ.get("WORKER_PROCESSES") or 2)


@dataclass(frozen=True)
class PeriodicJob:
    """One job for RQ's CronScheduler: either every `interval` seconds or on a `cron` schedule."""

    func: str
    queue: str = DEFAULT_QUEUE
    interval: int | None = None
    cron: str | None = None
    timeout: int = 300
    kwargs: dict = field(default_factory=dict)


PERIODIC_JOBS: list[PeriodicJob] = [
    PeriodicJob("worker.jobs.charger.sweep_actions", CHARGER_QUEUE, interval=SWEEP_INTERVAL_S, timeout=60),
    PeriodicJob("worker.jobs.offline.mark_offline_chargers", interval=60, timeout=60),
    PeriodicJob("worker.jobs.message_log.purge_message_log", cron="17 3 * * *", timeout=1800),
    # Personal data past its retention period (SECURITY.md, "Data kept and for how long").
    PeriodicJob("worker.jobs.retention.apply_retention", cron="37 3 * * *", timeout=1800),
    PeriodicJob("worker.jobs.spot.import_spot_prices", cron="7 * * * *", timeout=600),
    PeriodicJob("worker.jobs.mail.requeue_stuck_emails", MAIL_QUEUE, interval=120, timeout=120),
    # Daily after midnight in Norway and Sweden: on the 1st last month's statements, every day supplementary
    # statements for sessions of past months that ended since (portal/services/statements.py).
    PeriodicJob("worker.jobs.statements.issue_monthly_statements", cron="15 2 * * *", timeout=3600),
    PeriodicJob("worker.jobs.statements.send_notifications", interval=60, timeout=120),
]
