"""Support's charger pages: search, and one charger's live state, sessions, requests and message log."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import request

from portal.extensions import db_session
from portal.htmx import render, wants_fragment
from portal.services.charging import after_close
from portal.services.staff import diagnostics
from portal.services.staff.diagnostics import LogFilter
from portal.staff import bp
from portal.staff.common import all_sites, charger_or_404, site_by_slug, staff_area
from portal.staff.explain import explanations
from portal.staff.forms import LogFilterForm


@bp.route("/chargers")
@staff_area("support")
def chargers():
    """Search by identity, name, site or owner e-mail (active search: the list is the fragment)."""
    q = request.args.get("q", "")[:100]
    site = site_by_slug(request.args.get("site"))
    found = diagnostics.search(db_session(), q, site.id if site else None)
    return render("staff/chargers.html", block="results", q=q, site=site, sites=all_sites(), found=found,
                  section="chargers")


def _when(text: str | None) -> datetime | None:
    """A datetime-local input (the console's time zone) as UTC; None when empty or unreadable."""
    if not text:
        return None
    try:
        local = datetime.fromisoformat(text[:16])
    except ValueError:
        return None
    return local.replace(tzinfo=ZoneInfo("Europe/Oslo")).astimezone(timezone.utc)


def log_filter(form: LogFilterForm) -> LogFilter:
    return LogFilter(action=form.action.data or "", direction=form.direction.data or "",
                     errors_only=bool(form.errors_only.data), since=_when(form.since.data),
                     until=_when(form.until.data))


@bp.route("/chargers/<identity>")
@staff_area("support")
def charger(identity: str):
    """The whole page; htmx asks for the live block (polling every few seconds) or the log block (filters)."""
    cp = charger_or_404(identity)
    session = db_session()
    part = request.args.get("part") if wants_fragment() else None
    alerts = dict(still_charging=after_close.still_reported(session, charge_point_id=cp.id),
                  after_close_energy=after_close.energy_to_review(session, charge_point_id=cp.id))
    if wants_fragment() and part != "log":
        return render("staff/charger.html", block="live", cp=cp, **alerts)  # the poll: live state only
    form = LogFilterForm(request.args)
    form.action.choices = [("", "–")] + [(a, a) for a in diagnostics.logged_actions(session, cp.identity)]
    messages = diagnostics.message_log(session, cp.identity, log_filter(form))
    call_actions = diagnostics.call_actions(session, cp.identity, messages)
    context = dict(cp=cp, form=form, messages=messages, call_actions=call_actions,
                   explain=lambda m: explanations(diagnostics.explain(m, call_actions)))
    if part == "log":
        return render("staff/charger.html", block="log", **context)
    return render("staff/charger.html", **context, **alerts, transactions=diagnostics.recent_transactions(session, cp),
                  history=diagnostics.action_history(session, cp), section="chargers")
