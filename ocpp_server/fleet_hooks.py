"""What the node starts for the fleet services (issue 21) once a charger's boot was accepted: a job that
applies its configuration template and brings its local list up to date (worker.jobs.fleet.after_boot).

Runs as a follow-up task after the BootNotification was answered (never inside the @on handler); the job
goes through the charger queue, so its calls wait their turn behind any call in flight."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from portal import settings
from portal.services.fleet import queueing

if TYPE_CHECKING:
    from ocpp_server.v16 import CentralChargePoint

log = logging.getLogger(__name__)


async def after_boot(cp: "CentralChargePoint") -> None:
    if not settings.get("fleet_sync") or cp.charge_point_id is None:
        return
    job = await asyncio.to_thread(queueing.after_boot, cp.node.redis_url, cp.charge_point_id)
    log.info("%s: configuration and local list after boot: %s", cp.identity, job or "not enqueued")
