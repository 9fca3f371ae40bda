"""The monthly uptime report e-mailed to each board member of a site, in their own language.

Run on the 1st by worker/jobs/uptime.py for the month that just ended on the site's clock. A Notification
row per (``uptime:YYYYMM``, membership) makes it safe to run twice: nobody gets the same month twice.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.labels import DOWNTIME_OWNER_LABELS
from portal.models import ChargePoint, Membership, Site
from portal.services.people.mail import portal_url, queue_templated_email
from portal.services.people.notify import _claim
from portal.services.reliability import record, report
from portal.services.reliability.uptime import OWNERS


def last_month(site: Site, now: datetime) -> tuple[int, int]:
    """The month before `now` on the site's clock."""
    today = now.astimezone(ZoneInfo(site.timezone)).date()
    return (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)


def sites_with_chargers(session: Session) -> list[Site]:
    return list(session.scalars(select(Site).where(Site.id.in_(select(ChargePoint.site_id))).order_by(Site.id)))


def site_report_emails(session: Session, site: Site, year: int, month: int,
                       now: datetime | None = None) -> list[int]:
    """Queue the month's report for every active board member not yet sent it (flush only); outbox ids."""
    boards = session.scalars(select(Membership).where(Membership.site_id == site.id, Membership.role == "board")
                             .order_by(Membership.id))
    figures = None
    ids = []
    for member in boards:
        if not member.user.active or _claim(session, member.user, f"uptime:{year:04d}{month:02d}", member.id) is None:
            continue
        figures = figures or record.site_month(session, site, year, month, now)
        language = member.user.language
        owners = [(o, report.hours(figures.figures.down_by_owner[o])) for o in OWNERS
                  if figures.figures.down_by_owner.get(o)]
        row = queue_templated_email(
            session, to=member.user.email, template="uptime_report", language=language, kind="uptime_report",
            name=member.user.display_name, site_name=site.name, month_date=date(year, month, 1),
            uptime=report.percent(figures.figures.uptime, language),
            success=report.percent(figures.success.share, language), attempts=figures.success.attempts,
            down_hours=report.hours(figures.figures.down_s),
            maintenance_hours=report.hours(figures.figures.maintenance_s), owners=owners,
            chargers=[(c.charge_point.name or c.charge_point.identity, report.percent(c.figures.uptime, language))
                      for c in figures.chargers],
            owner_labels=DOWNTIME_OWNER_LABELS,
            page_url=portal_url("site.uptime", slug=site.slug, month=f"{year:04d}-{month:02d}"))
        ids.append(row.id)
    return ids


def send_monthly_reports(session: Session, now: datetime | None = None) -> list[int]:
    """Last month's report for every site with chargers; commits site by site; returns outbox ids."""
    now = now or datetime.now(timezone.utc)
    ids: list[int] = []
    for site in sites_with_chargers(session):
        ids += site_report_emails(session, site, *last_month(site, now), now=now)
        session.commit()
    return ids
