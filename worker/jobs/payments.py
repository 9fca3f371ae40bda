"""Payment reminders, daily at 08:30 (portal/services/payments/reminders.py): safe to run twice, since a
statement gets each reminder level once. The outbox ids go to the mail queue only after the commit."""
from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from redis import Redis

from portal.services.payments import reminders, terms as payment_terms
from portal.services.people.mail import enqueue_outbox
from worker.jobs.statements import _job

log = logging.getLogger(__name__)


def send_payment_reminders(database_url: str | None = None, redis_url: str | None = None,
                           today: date | None = None) -> int:
    """Send the reminders due today; returns how many were recorded."""
    today = today or datetime.now(timezone.utc).astimezone(ZoneInfo("Europe/Oslo")).date()
    terms = payment_terms.load()
    outbox: list[int] = []
    count = 0
    with _job(database_url, redis_url) as (config, db):
        with db.session() as session:
            for item in reminders.due(session, today, terms):
                row = reminders.send(session, item.statement, item.level, today, terms)
                outbox += [row.id] if row is not None else []
                count += 1
            session.commit()
        enqueue_outbox(Redis.from_url(redis_url or config.redis_url), outbox)
    log.info("payment reminders sent: %s", count)
    return count
