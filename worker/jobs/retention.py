"""Daily: personal data past its retention period is deleted or blanked (portal/services/people/retention_policy.py;
the table is in SECURITY.md). Safe to run twice: every rule selects only what is still there."""
from __future__ import annotations

import logging

from portal import settings
from portal.db import Database, utcnow
from portal.services.fleet import diagnostics
from portal.services.faults import history
from portal.services.people import login_sessions
from portal.services.people.retention_policy import apply_all

log = logging.getLogger(__name__)


def apply_retention(database_url: str | None = None) -> dict[str, int]:
    db = Database.from_url(database_url or settings.get("database_url"))
    try:
        with db.session() as session:
            result = apply_all(session, upload_dir=settings.get("upload_dir"))
            result["login_sessions"] = login_sessions.purge_expired(session, _limits())
            result["diagnostics_files"] = diagnostics.purge(session, utcnow(), settings.get("upload_dir"))
            result["fault_history"] = history.purge(session, utcnow(), int(settings.get("fault_history_retention_days")))
            session.commit()
        log.info("retention applied: %s", result)
        return result
    finally:
        db.dispose()


def _limits() -> login_sessions.SessionLimits:
    from datetime import timedelta

    return login_sessions.SessionLimits(
        idle=timedelta(minutes=int(settings.get("session_idle_minutes"))), absolute=timedelta(hours=int(settings.get("session_max_hours"))),
        remember_idle=timedelta(days=int(settings.get("remember_idle_days"))),
        remember_absolute=timedelta(days=int(settings.get("remember_max_days"))))
