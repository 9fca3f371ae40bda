"""Every minute: the fault rules (portal/services/faults/evaluate.py) over what chargers reported.

Safe to run twice or in two workers at once: an incident is one row per cause while it lasts (a unique
open_key; the loser of a race finds the winner's row). Runs inside the e-mail app's context (tickets and
outage e-mails are written in their readers' languages); outbox ids are enqueued after the commit.
"""
from __future__ import annotations

import logging
from datetime import datetime

from redis import Redis

from portal.db import utcnow
from portal.services.charging import action_queue
from portal.services.faults.evaluate import Result, evaluate
from portal.services.people.mail import enqueue_outbox
from worker.jobs.statements import _job

log = logging.getLogger(__name__)


def evaluate_faults(database_url: str | None = None, redis_url: str | None = None,
                    now: datetime | None = None) -> dict:
    """One pass of the rules; `now` lets a test move the rules' clock instead of waiting."""
    with _job(database_url, redis_url) as (config, db):
        with db.session() as session:
            result: Result = evaluate(session, now or utcnow())
            session.commit()
        redis = Redis.from_url(redis_url or config.redis_url)
        if result.outbox_ids:
            enqueue_outbox(redis, result.outbox_ids)
        for action_id in result.action_ids:  # an automatic soft reset (a site's choice)
            action_queue.enqueue_action(redis, action_id)
    if result.opened or result.resolved:
        log.info("incidents opened %s, resolved %s", result.opened, result.resolved)
    return {"opened": result.opened, "resolved": result.resolved, "emails": len(result.outbox_ids)}
