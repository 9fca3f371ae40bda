"""Daily: personal data past its retention period is deleted or blanked (portal/services/retention_policy.py;
the table is in SECURITY.md). Safe to run twice: every rule selects only what is still there."""
from __future__ import annotations

import logging

from portal.config import setting
from portal.db import Database
from portal.services import login_sessions
from portal.services.retention_policy import apply_all

log = logging.getLogger(__name__)


def apply_retention(database_url: str | None = None) -> dict[str, int]:
    db = Database.from_url(database_url or setting("DATABASE_URL"))
    try:
        with db.session() as session:
            result = apply_all(session, upload_dir=setting("UPLOAD_DIR"))
            result["login_sessions"] = login_sessions.purge_expired(session, _limits())
            session.commit()
        log.info("retention applied: %s", result)
        return result
    finally:
        db.dispose()


def _limits() -> login_sessions.SessionLimits:
    from datetime import timedelta

    return login_sessions.SessionLimits(
        idle=timedelta(minutes=int(setting("SESSION_IDLE_MINUTES"))), absolute=timedelta(hours=int(setting("SESSION_MAX_HOURS"))),
        remember_idle=timedelta(days=int(setting("REMEMBER_IDLE_DAYS"))),
        remember_absolute=timedelta(days=int(setting("REMEMBER_MAX_DAYS"))))
