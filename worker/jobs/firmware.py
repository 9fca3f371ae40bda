"""Every minute: firmware rollouts moved along (portal/services/fleet/firmware_rollouts.py), then their
UpdateFirmware calls handed to the charger queue. Safe to run twice: a charger's row moves to 'sent'
in the same transaction that makes its one call."""
from __future__ import annotations

import logging

from portal import settings
from portal.db import Database, utcnow
from portal.services.charging.action_queue import enqueue_after_commit
from portal.services.fleet import firmware_rollouts
from portal.services.fleet.charger_urls import ChargerLinks

log = logging.getLogger(__name__)


def advance_rollouts(database_url: str | None = None, redis_url: str | None = None) -> int:
    db = Database.from_url(database_url or settings.get("database_url"))
    try:
        with db.session() as session:
            action_ids = firmware_rollouts.advance_all(session, utcnow(), ChargerLinks.from_settings())
            session.commit()
    finally:
        db.dispose()
    enqueue_after_commit(redis_url or settings.get("redis_url"), action_ids)
    if action_ids:
        log.info("firmware: %d UpdateFirmware calls queued", len(action_ids))
    return len(action_ids)
