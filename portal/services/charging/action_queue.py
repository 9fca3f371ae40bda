"""Handing committed charger action requests to the workers (RQ's charger queue).

Called after COMMIT by the web views, the staff console and the OCPP node (for autostart): a job for a
row that is not committed yet could find nothing. Enqueuing twice is harmless (portal.services.charging.actions:
only one run moves the row out of 'queued')."""
from __future__ import annotations

import logging
import uuid
from typing import Any, Iterable

from portal import settings
from portal.services.charging.actions import RUN_JOB, QueueUnavailable

log = logging.getLogger(__name__)


def job_id_for(action_id: int) -> str:
    """A fresh job id naming its request (ids are not reused: a database reset must not meet old jobs)."""
    return f"action-{action_id}-{uuid.uuid4().hex[:8]}"


def enqueue_action(redis_conn_or_url: Any, action_request_id: int) -> str:
    """Enqueue the job for a committed request; returns the job id. Raises QueueUnavailable.

    Enqueuing twice is harmless: only one run moves the row out of 'queued'; the others return."""
    from redis import Redis
    from redis.exceptions import RedisError
    from rq import Queue, Retry

    conn = Redis.from_url(redis_conn_or_url, socket_connect_timeout=2, socket_timeout=5) \
        if isinstance(redis_conn_or_url, str) else redis_conn_or_url
    try:
        job = Queue(settings.CHARGER_QUEUE, connection=conn).enqueue(
            RUN_JOB, args=(int(action_request_id),), job_id=job_id_for(action_request_id),
            job_timeout=settings.action_job_timeout_s(), ttl=settings.action_job_ttl_s(),
            result_ttl=settings.ACTION_RESULT_TTL_S, failure_ttl=settings.ACTION_FAILURE_TTL_S,
            retry=Retry(max=len(settings.ACTION_RETRY_INTERVALS_S), interval=list(settings.ACTION_RETRY_INTERVALS_S)),
        )
    except RedisError as exc:
        log.warning("action %s could not be enqueued: %s", action_request_id, exc)
        raise QueueUnavailable(str(exc)) from exc
    finally:
        if isinstance(redis_conn_or_url, str):
            conn.close()
    return job.id


def enqueue_after_commit(redis_url: str, value: Iterable[int] | int | None) -> list[str]:
    """Enqueue what a hook returned (action ids), after the OCPP handler committed; never raises."""
    ids = [value] if isinstance(value, int) else list(value or [])
    done = []
    for action_id in ids:
        try:
            done.append(enqueue_action(redis_url, action_id))
        except QueueUnavailable:
            log.error("action %s kept 'queued': the queue is unavailable", action_id)
    return done
