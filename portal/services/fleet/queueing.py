"""Enqueuing the fleet jobs (worker.jobs.fleet) on the charger queue, after COMMIT.

Called by the OCPP node after an accepted boot, by the staff pages (apply now, check now) and by the
people and tag services' callers when a tag or a resident changes (the site's chargers get a differential
list). Enqueuing twice is harmless: the jobs compare with the charger before they send. Never raises."""
from __future__ import annotations

import logging
import uuid
from typing import Any, Iterable

from portal import settings

log = logging.getLogger(__name__)
AFTER_BOOT = "worker.jobs.fleet.after_boot"
CONFIGURE = "worker.jobs.fleet.apply_configuration"
LOCAL_LIST = "worker.jobs.fleet.sync_local_list"
JOB_TIMEOUT_S = 600  # one call at a time, each within ACTION_DEADLINE_S


def _enqueue(redis_conn_or_url: Any, func: str, *args: Any, **kwargs: Any) -> str | None:
    from redis import Redis
    from redis.exceptions import RedisError
    from rq import Queue

    conn = Redis.from_url(redis_conn_or_url, socket_connect_timeout=2, socket_timeout=5) \
        if isinstance(redis_conn_or_url, str) else redis_conn_or_url
    try:
        job = Queue(settings.CHARGER_QUEUE, connection=conn).enqueue(
            func, args=args, kwargs=kwargs, job_id=f"fleet-{func.rsplit('.', 1)[1]}-{args[0]}-{uuid.uuid4().hex[:8]}",
            job_timeout=JOB_TIMEOUT_S, ttl=3600, result_ttl=settings.ACTION_RESULT_TTL_S,
            failure_ttl=settings.ACTION_FAILURE_TTL_S)
        return job.id
    except RedisError as exc:
        log.warning("%s for charger %s not enqueued: %s", func, args[0], exc)
        return None
    finally:
        if isinstance(redis_conn_or_url, str):
            conn.close()


def after_boot(redis_conn_or_url: Any, cp_id: int) -> str | None:
    """Configuration, then the local list, for a charger whose boot was accepted."""
    return _enqueue(redis_conn_or_url, AFTER_BOOT, int(cp_id))


def configuration(redis_conn_or_url: Any, cp_id: int) -> str | None:
    return _enqueue(redis_conn_or_url, CONFIGURE, int(cp_id))


def local_lists(redis_conn_or_url: Any, cp_ids: Iterable[int], full: bool = False) -> list[str]:
    """A list update (differential unless `full`) for each charger."""
    return [job for cp_id in cp_ids if (job := _enqueue(redis_conn_or_url, LOCAL_LIST, int(cp_id), full=full))]


def for_sites(session: Any, redis_conn_or_url: Any, site_ids: Iterable[int]) -> list[str]:
    """After a change of who may charge at these sites (committed): a differential list for their online
    chargers (the others get theirs after their next boot). Nothing when FLEET_SYNC is off."""
    from sqlalchemy import select

    from portal.models import ChargePoint

    ids = list(site_ids)
    if not ids or not settings.get("fleet_sync"):
        return []
    return local_lists(redis_conn_or_url, session.scalars(select(ChargePoint.id).where(
        ChargePoint.site_id.in_(ids), ChargePoint.online.is_(True))))


def for_tag(session: Any, redis_conn_or_url: Any, tag: Any) -> list[str]:
    """After a tag was registered, blocked or unblocked (committed)."""
    from portal.services.fleet.local_list import tag_site_ids

    return for_sites(session, redis_conn_or_url, tag_site_ids(session, tag))
