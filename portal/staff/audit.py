"""The staff console's audit log for operator admins: one sentence per entry, filtered by who, what, which
object and when, 50 entries a page."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import request, url_for
from flask_babel import gettext as _

from portal.extensions import db_session
from portal.htmx import render
from portal.models import AuditEntry
from portal.services.staff import audit_log
from portal.services.staff.audit_log import AuditFilter
from portal.staff import audit_words, bp
from portal.staff.common import staff_area
from portal.staff.forms import AuditFilterForm

OSLO = ZoneInfo("Europe/Oslo")


def _day_start(day: date | None, days_after: int = 0) -> datetime | None:
    """Midnight (the console's time zone) of the day, as UTC."""
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=days_after), time(0), OSLO).astimezone(timezone.utc)


def _form() -> AuditFilterForm:
    session = db_session()
    form = AuditFilterForm(request.args)
    form.who.choices = [("", _("Anyone"))] + [(str(u.id), u.email) for u in audit_log.actors(session)]
    form.what.choices = [("", _("Anything"))] + [(a, audit_words.action_label(a))
                                                 for a in audit_log.logged(session, AuditEntry.action)]
    form.kind.choices = [("", _("Any object"))] + [(k, audit_words.kind_label(k))
                                                   for k in audit_log.logged(session, AuditEntry.entity)]
    form.validate()  # a wrong value is said next to its field; the rest of the filter still applies
    return form


def _filter(form: AuditFilterForm) -> AuditFilter:
    who = form.who.data or ""
    return AuditFilter(actor_id=int(who) if who.isdigit() else None, action=form.what.data or "",
                       entity=form.kind.data or "", entity_id=None if form.object_id.errors else form.object_id.data,
                       since=None if form.since.errors else _day_start(form.since.data),
                       until=None if form.until.errors else _day_start(form.until.data, 1))


def _page_number() -> int:
    text = request.args.get("page", "1")
    return min(int(text), 100000) if text.isdigit() and int(text) > 0 else 1


@bp.route("/audit", endpoint="audit_log")
@staff_area("admin")
def audit_log_view():
    form = _form()
    found = audit_log.entries(db_session(), _filter(form), _page_number())
    kept = {k: v for k, v in request.args.items() if k != "page" and v}
    return render("staff/audit.html", block="entries", form=form, log=found, section="audit",
                  sentence=lambda e: audit_words.sentence(e, found.names),
                  page_url=lambda n: url_for("staff.audit_log", page=n, **kept))
