"""Retention: OCPP frames older than OCPP_LOG_RETENTION_DAYS are deleted, and RFID card ids of sessions
older than RFID_RETENTION_DAYS are forgotten (portal.services.people.retention).

Scheduled daily in worker/periodic.py (RQ's cron scheduler, the default queue).
"""
from __future__ import annotations

from ocpp_server.msglog import purge_old_messages
from portal import settings
from portal.db import Database
from portal.services.people.retention import forget_old_id_tags


def purge_message_log(database_url: str | None = None, retention_days: int | None = None) -> int:
    """Delete message-log rows past the retention period; returns how many."""
    days = retention_days if retention_days is not None else int(settings.get("ocpp_log_retention_days"))
    db = Database.from_url(database_url or settings.get("database_url"))
    try:
        with db.session() as session:
            removed = purge_old_messages(session, days)
            forget_old_id_tags(session, int(settings.get("rfid_retention_days")))
            session.commit()
            return removed
    finally:
        db.dispose()
