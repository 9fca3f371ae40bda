"""The monthly uptime report to boards (periodic, on the 1st; portal/services/reliability/monthly.py).

Safe to run twice (one Notification per board member and month); e-mails rendered in each member's
language inside the mail app's context; the outbox ids go to the mail queue after the commit."""
from __future__ import annotations

import logging
from datetime import datetime

from redis import Redis

from portal.services.people.mail import enqueue_outbox
from portal.services.reliability import monthly
from worker.jobs.statements import _job

log = logging.getLogger(__name__)


def monthly_uptime_reports(database_url: str | None = None, redis_url: str | None = None,
                           now: datetime | None = None) -> int:
    """E-mail last month's uptime report to every site's board; returns how many e-mails were queued."""
    with _job(database_url, redis_url) as (config, db):
        with db.session() as session:
            ids = monthly.send_monthly_reports(session, now)
        enqueue_outbox(Redis.from_url(redis_url or config.redis_url), ids)
    log.info("uptime reports queued: %d", len(ids))
    return len(ids)
