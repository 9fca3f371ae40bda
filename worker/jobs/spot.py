"""Spot-price import: day-ahead prices for every price area, today and tomorrow.

Registered as a periodic job in worker/periodic.py. Safe to run twice (rows are upserted); a
day the source has not published yet (HTTP 404) or that fails is reported, never half-stored.
"""
from __future__ import annotations

import logging
from datetime import date, timedelta

from portal import settings
from portal.db import Database
from portal.models.sites import PRICE_AREAS
from portal.services.billing import spot

log = logging.getLogger(__name__)


def import_spot_prices(database_url: str | None = None, source: str | None = None,
                       days: list[str] | None = None, areas: list[str] | None = None) -> dict[str, str]:
    """Import prices; returns {"AREA DATE": "N intervals" | "not published" | "error: ..."}."""
    template = source if source is not None else settings.get("spot_price_source")
    if not template:
        log.info("SPOT_PRICE_SOURCE is not set; no spot prices imported")
        return {}
    today = spot.local_today()
    wanted = [date.fromisoformat(d) for d in days] if days else [today, today + timedelta(days=1)]
    result: dict[str, str] = {}
    db = Database.from_url(database_url or settings.get("database_url"))
    try:
        for area in areas or PRICE_AREAS:
            for day in wanted:
                result[f"{area} {day.isoformat()}"] = _import_one(db, template, area, day)
    finally:
        db.dispose()
    return result


def _import_one(db: Database, template: str, area: str, day: date) -> str:
    """One area and day in its own transaction, so one bad answer spoils nothing else."""
    try:
        with db.session() as session:
            count = spot.import_day(session, template, area, day)
            session.commit()
    except Exception as exc:  # noqa: BLE001 - a price source failure must not stop other areas
        log.warning("spot prices %s %s failed: %s", area, day, exc)
        return f"error: {exc}"
    if count is None:
        return "not published"
    log.info("spot prices %s %s: %d intervals", area, day, count)
    return f"{count} intervals"
