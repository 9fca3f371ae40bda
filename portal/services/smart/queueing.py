"""Enqueuing the floor jobs (worker.jobs.smart) on the charger queue, after COMMIT: after a change of the site's
power, circuits or chargers, every online charger of the site gets its floor again. Nothing when FLEET_SYNC is
off. Never raises."""
from __future__ import annotations

from typing import Any

from portal import settings
from portal.services.fleet.queueing import _enqueue

INSTALL = "worker.jobs.smart.install_floor"


def install(redis_conn_or_url: Any, cp_ids: list[int]) -> list[str]:
    return [job for cp_id in cp_ids if (job := _enqueue(redis_conn_or_url, INSTALL, int(cp_id)))]


def for_site(session: Any, redis_conn_or_url: Any, site_id: int, but: int | None = None) -> list[str]:
    from sqlalchemy import select

    from portal.models import ChargePoint
    if not settings.get("fleet_sync"):
        return []
    ids = [i for i in session.scalars(select(ChargePoint.id).where(
        ChargePoint.site_id == site_id, ChargePoint.online.is_(True)).order_by(ChargePoint.id)) if i != but]
    return install(redis_conn_or_url, ids)
