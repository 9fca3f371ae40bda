"""The site's change log: sentences (portal/site/audit_text.py), filters by person, kind and dates, pages."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import request
from flask_login import login_required

from portal.extensions import db_session
from portal.htmx import render
from portal.services.sites import audit
from portal.site import audit_text, bp
from portal.site.common import managed_site

AUDIT_PER_PAGE = 50


@bp.route("/<slug>/audit")
@login_required
def audit_log(slug: str):
    """The change log in sentences, filtered by person, kind and dates, 50 entries to a page."""
    site = managed_site(slug)
    s = db_session()
    people = audit.actors(s, site.id)
    args = _audit_filter({u.id for u in people}, site)
    page = args.pop("page")
    entries, total = audit.search(s, site.id, offset=(page - 1) * AUDIT_PER_PAGE, limit=AUDIT_PER_PAGE,
                                  **{k: v for k, v in args.items() if not k.startswith("_")})
    pages = max((total + AUDIT_PER_PAGE - 1) // AUDIT_PER_PAGE, 1)
    names = audit_text.Names(s, entries)
    rows = [(e, audit_text.describe(e, names, site.currency)) for e in entries]
    query = {k: v for k, v in (("who", args["actor_id"]), ("kind", args["entity"]), ("from", args["_from"]),
                               ("to", args["_to"])) if v}
    return render("site/audit.html", site=site, rows=rows, section="audit", people=people, total=total,
                  kinds=audit_text.KINDS, page=page, pages=pages, query=query, flt=args)


def _audit_filter(actor_ids: set[int], site) -> dict:
    """?who=&kind=&from=YYYY-MM-DD&to=YYYY-MM-DD&page=N; anything malformed is ignored."""
    def day(name: str):
        try:
            return date.fromisoformat(request.args.get(name, ""))
        except ValueError:
            return None

    who = request.args.get("who", "")
    kind = request.args.get("kind", "")
    zone = ZoneInfo(site.timezone)
    since, until = day("from"), day("to")
    page = request.args.get("page", "")
    return {
        "actor_id": int(who) if who.isdigit() and int(who) in actor_ids else None,
        "entity": kind if kind in audit_text.KINDS else None,
        "since": datetime.combine(since, time(0), zone) if since else None,
        "until": datetime.combine(until + timedelta(days=1), time(0), zone) if until else None,
        "_from": since.isoformat() if since else "", "_to": until.isoformat() if until else "",
        "page": min(int(page), 100_000) if page.isdigit() and int(page) > 0 else 1,
    }
