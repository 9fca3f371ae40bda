"""Presenting a site's month: figures as words and numbers, the CSV file (through the CSV-neutralising
helper), the ranking of sites for staff."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Site
from portal.services.billing.csv_export import csv_text
from portal.services.reliability.record import SiteMonth, site_month
from portal.services.reliability.uptime import OWNERS, Figures

CSV_HEADER = ("month", "charger", "charger_name", "connector", "uptime_percent", "up_hours", "down_hours", "maintenance_hours",
              "no_data_hours", *(f"down_hours_{o}" for o in OWNERS), "first_attempts", "first_attempts_ok",
              "first_time_success_percent")


def percent(share: float | None, language: str = "nb") -> str:
    """98,25 % (nb, sv) or 98.25 % (en); an en dash without data."""
    if share is None:
        return "–"
    text = f"{share * 100:.2f}"
    return (text if language == "en" else text.replace(".", ",")) + " %"


def hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def _figure_cells(figures: Figures) -> list:
    share = figures.uptime
    return [round(share * 100, 3) if share is not None else "", hours(figures.up_s), hours(figures.down_s),
            hours(figures.maintenance_s), hours(figures.no_data_s),
            *(hours(figures.down_by_owner.get(o, 0.0)) for o in OWNERS)]


def month_csv(report: SiteMonth) -> str:
    """One line for the site, one per charger and one per connector."""
    label = f"{report.year:04d}-{report.month:02d}"

    def line(cp, connector: str, figures: Figures, success) -> list:
        ok = round(success.share * 100, 2) if success.share is not None else ""
        names = [cp.identity, cp.name] if cp is not None else ["", ""]
        return [label, *names, connector, *_figure_cells(figures), success.attempts, success.succeeded, ok]

    rows = [line(None, "", report.figures, report.success)]
    for charger in report.chargers:
        rows.append(line(charger.charge_point, "", charger.figures, charger.success))
        rows += [line(charger.charge_point, str(c.connector_id), c.figures, c.success) for c in charger.connectors]
    return csv_text(CSV_HEADER, rows)


@dataclass
class Ranked:
    site: Site
    report: SiteMonth


def ranking(session: Session, year: int, month: int, now: datetime | None = None) -> list[Ranked]:
    """Every site's month, the lowest uptime first (sites without counted time last)."""
    reports = [Ranked(site, site_month(session, site, year, month, now))
               for site in session.scalars(select(Site).order_by(Site.name))]
    return sorted(reports, key=lambda r: (r.report.figures.uptime is None, r.report.figures.uptime or 0.0))
