"""Offline detection: chargers whose socket closed are marked by their node; this job catches missed heartbeats.

Scheduled every minute in worker/periodic.py (RQ's cron scheduler, the default queue).
Safe to run twice or concurrently: it only ever moves online -> offline for silent chargers.
"""
from __future__ import annotations

from portal import settings
from portal.db import Database, utcnow
from portal.services.faults import history
from portal.services.ocpp_ingest import missed_heartbeats


def mark_offline_chargers(database_url: str | None = None, factor: float = 2.0, min_grace_s: float = 60) -> list[str]:
    """Mark offline every charger that missed its heartbeats; returns their identities."""
    db = Database.from_url(database_url or settings.get("database_url"))
    try:
        with db.session() as session:
            marked = missed_heartbeats(session, utcnow(), factor=factor, min_grace_s=min_grace_s)
            history.back_from_silence(session)  # talking again after being marked: connected in the history
            session.commit()
            return marked
    finally:
        db.dispose()
