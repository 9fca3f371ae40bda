"""Statements (daily at 02:15: the month before, and late sessions of earlier months) and notification
e-mails (every minute).

Both are periodic jobs in worker/periodic.py and safe to run twice: a regular statement exists once per
site, resident and month, a session is on one document (portal/services/billing/statements.py), and a
notification is sent once per thing (portal/services/people/notify.py). E-mails
are rendered with the portal's templates in each recipient's language, inside the app context of
`portal.create_mail_app` (templates, translations, the URL map; built once per worker process, not the
web app); each job opens its own database session from the settings. The outbox ids go to the mail
queue only after the commit.
"""
from __future__ import annotations

import functools
import logging
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator
from zoneinfo import ZoneInfo

from flask import Flask
from redis import Redis
from sqlalchemy.exc import DBAPIError

from portal import settings
from portal.db import Database
from portal.services.billing import statements
from portal.services.people import notify
from portal.services.people.mail import enqueue_outbox

log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4)
def _mail_app(config: settings.Settings) -> Flask:
    from portal import create_mail_app

    return create_mail_app(config)


@contextmanager
def _job(database_url: str | None, redis_url: str | None) -> Iterator[tuple[settings.Settings, Database]]:
    """The settings, and a database of the job's own, inside the e-mail rendering app's context."""
    config = settings.load()
    db = Database.from_url(database_url or config.database_url, redis_url=redis_url or config.redis_url)
    try:
        with _mail_app(config).app_context():
            yield config, db
    finally:
        db.dispose()


def _months(session, site, year: int | None, month: int | None, now: datetime) -> list[tuple[int, int]]:
    if year is not None and month is not None:
        return [(year, month)]
    return statements.months_due(session, site, now.astimezone(ZoneInfo(site.timezone)).date())


def _bill_site(session, site, year: int | None, month: int | None, now: datetime,
               operator: statements.Operator) -> tuple[list, list[int]]:
    """Issue and queue the e-mails of one site's due documents, committed together (numbers included)."""
    new = [st for y, m in _months(session, site, year, month, now)
           for st in statements.issue(session, site, y, m, operator)]
    ids = [row.id for row in (notify.statement_email(session, st) for st in new) if row is not None]
    session.commit()  # one site at a time: a failure later spoils nothing already issued
    return new, ids


def issue_monthly_statements(database_url: str | None = None, redis_url: str | None = None,
                             year: int | None = None, month: int | None = None,
                             now: datetime | None = None) -> dict[str, int]:
    """Issue, for every site, what is due (or only the given month): last month's statements, and
    supplementary statements for sessions of earlier months that ended since; e-mail them all.
    Returns the number of new documents per site."""
    now = now or datetime.now(timezone.utc)
    result: dict[str, int] = {}
    outbox: list[int] = []
    with _job(database_url, redis_url) as (config, db):
        operator = statements.Operator(config.operator_name, config.operator_org_number)
        with db.session() as session:
            for site in statements.sites_to_bill(session):
                try:
                    new, ids = _bill_site(session, site, year, month, now, operator)
                except DBAPIError:  # another run billed the site at the same time: look again after its commit
                    session.rollback()
                    log.warning("statements for %s collided with another run; retrying once", site.slug)
                    new, ids = _bill_site(session, site, year, month, now, operator)
                outbox += ids
                result[site.slug] = len(new)
        enqueue_outbox(Redis.from_url(redis_url or config.redis_url), outbox)
    log.info("statements issued: %s", result)
    return result


def send_notifications(database_url: str | None = None, redis_url: str | None = None) -> int:
    """Queue the due session and start notifications; returns how many e-mails were queued."""
    with _job(database_url, redis_url) as (config, db):
        with db.session() as session:
            ids = notify.send_pending(session)
            session.commit()
        enqueue_outbox(Redis.from_url(redis_url or config.redis_url), ids)
    return len(ids)
