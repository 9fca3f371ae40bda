"""Monthly statements (on the 1st, for the month before) and notification e-mails (every minute).

Both are periodic jobs in worker/settings.py and safe to run twice: a statement exists once per
site, resident and month, and a notification once per thing (portal/services/notify.py). E-mails
are rendered with the portal's templates in each recipient's language, so the jobs run inside an
app context; the outbox ids go to the mail queue only after the commit.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

from flask import Flask
from redis import Redis

from portal.config import setting
from portal.services import notify, statements
from portal.services.mail import enqueue_outbox

log = logging.getLogger(__name__)


@contextmanager
def _app(database_url: str | None, redis_url: str | None) -> Iterator[Flask]:
    from portal import create_app

    overrides = {k: v for k, v in (("DATABASE_URL", database_url), ("REDIS_URL", redis_url)) if v}
    app = create_app(overrides)
    try:
        with app.app_context():
            yield app
    finally:
        app.extensions["portal_db"].dispose()


def issue_monthly_statements(database_url: str | None = None, redis_url: str | None = None,
                             year: int | None = None, month: int | None = None) -> dict[str, int]:
    """Issue last month's statements (or the given month's) for every site and e-mail them."""
    if year is None or month is None:
        year, month = statements.previous_month(datetime.now(timezone.utc).astimezone(ZoneInfo("Europe/Oslo")).date())
    result: dict[str, int] = {}
    outbox: list[int] = []
    with _app(database_url, redis_url) as app:
        operator = statements.Operator(app.config["OPERATOR_NAME"], app.config["OPERATOR_ORG_NUMBER"])
        with app.extensions["portal_db"].session() as session:
            for site in statements.sites_to_bill(session):
                new = statements.issue(session, site, year, month, operator)
                ids = [row.id for row in (notify.statement_email(session, st) for st in new) if row is not None]
                session.commit()  # one site at a time: a failure later spoils nothing already issued
                outbox += ids
                result[site.slug] = len(new)
        enqueue_outbox(Redis.from_url(redis_url or setting("REDIS_URL")), outbox)
    log.info("statements for %04d-%02d: %s", year, month, result)
    return result


def send_notifications(database_url: str | None = None, redis_url: str | None = None) -> int:
    """Queue the due session and start notifications; returns how many e-mails were queued."""
    with _app(database_url, redis_url) as app:
        with app.extensions["portal_db"].session() as session:
            ids = notify.send_pending(session)
            session.commit()
        enqueue_outbox(Redis.from_url(redis_url or setting("REDIS_URL")), ids)
    return len(ids)
