"""Enqueue helpers for the web and the OCPP server, always called AFTER the database commit.

Charger actions go through `enqueue_action` (one job per ActionRequest row, queue "charger");
other areas use `enqueue` with a queue from portal.settings. Both raise QueueUnavailable when
Redis does not answer, so the caller can say so and keep its row for a retry.
"""
from __future__ import annotations

from typing import Any

from portal.services.actions import QueueUnavailable, enqueue_action, enqueue_after_commit
from portal import settings

__all__ = ["QueueUnavailable", "enqueue", "enqueue_action", "enqueue_after_commit"]


def enqueue(redis_conn: Any, func: str, *args: Any, queue: str = settings.DEFAULT_QUEUE,
            job_timeout: int = 300, ttl: int | None = None, job_id: str | None = None) -> str:
    """Enqueue `func` (dotted path) with plain arguments (ids, not objects); returns the job id."""
    from redis.exceptions import RedisError
    from rq import Queue

    try:
        job = Queue(queue, connection=redis_conn).enqueue(
            func, args=args, job_timeout=job_timeout, ttl=ttl, job_id=job_id,
            result_ttl=3600, failure_ttl=7 * 24 * 3600)
    except RedisError as exc:
        raise QueueUnavailable(str(exc)) from exc
    return job.id
