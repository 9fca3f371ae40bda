"""The periodic jobs of `python -m worker`, run through RQ's CronScheduler.

To add one, append a line to periodic_jobs() (the function is named by its dotted path, so nothing is
imported here). Periodic jobs must be safe to run twice. Queue names and the figures of charger actions
are settings (portal/settings.py), shared with the domain that enqueues.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from portal import settings
from portal.settings import CHARGER_QUEUE, DEFAULT_QUEUE, MAIL_QUEUE


@dataclass(frozen=True)
class PeriodicJob:
    """One job for RQ's CronScheduler: either every `interval` seconds or on a `cron` schedule."""

    func: str
    queue: str = DEFAULT_QUEUE
    interval: int | None = None
    cron: str | None = None
    timeout: int = 300
    kwargs: dict = field(default_factory=dict)


def periodic_jobs() -> list[PeriodicJob]:
    """The deployment's periodic jobs (the sweeper's interval is ACTION_SWEEP_INTERVAL_S)."""
    return [
        PeriodicJob("worker.jobs.charger.sweep_actions", CHARGER_QUEUE,
                    interval=settings.get("action_sweep_interval_s"), timeout=60),
        PeriodicJob("worker.jobs.offline.mark_offline_chargers", interval=60, timeout=60),
        PeriodicJob("worker.jobs.faults.evaluate_faults", interval=60, timeout=120),  # incidents (issue 20)
        PeriodicJob("worker.jobs.message_log.purge_message_log", cron="17 3 * * *", timeout=1800),
        # Personal data past its retention period (SECURITY.md, "Data kept and for how long").
        PeriodicJob("worker.jobs.retention.apply_retention", cron="37 3 * * *", timeout=1800),
        PeriodicJob("worker.jobs.spot.import_spot_prices", cron="7 * * * *", timeout=600),
        PeriodicJob("worker.jobs.mail.requeue_stuck_emails", MAIL_QUEUE, interval=120, timeout=120),
        # Daily after midnight in Norway and Sweden: on the 1st last month's statements, every day
        # supplementary statements for sessions of past months that ended since (portal/services/billing/statements.py).
        PeriodicJob("worker.jobs.statements.issue_monthly_statements", cron="15 2 * * *", timeout=3600),
        PeriodicJob("worker.jobs.statements.send_notifications", interval=60, timeout=120),
        PeriodicJob("worker.jobs.firmware.advance_rollouts", interval=60, timeout=120),
        # Weekdays' payment reminders for overdue statements (portal/services/payments/reminders.py).
        PeriodicJob("worker.jobs.payments.send_payment_reminders", cron="30 7 * * *", timeout=1800),
        # On the 1st: last month's uptime report to each board (portal/services/reliability/monthly.py).
        PeriodicJob("worker.jobs.uptime.monthly_uptime_reports", cron="45 5 1 * *", timeout=1800),
        # Issue 21: configuration drift checked and put right daily; local lists reconciled as a safety net.
        PeriodicJob("worker.jobs.fleet.check_fleet", cron="47 4 * * *", timeout=600),
        PeriodicJob("worker.jobs.fleet.reconcile_local_lists", interval=900, timeout=600),
    ]
