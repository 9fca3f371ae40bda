"""Finding a charger: search, a site's page with its chargers, and the printable sticker label."""
from __future__ import annotations

import io

from flask import abort, current_app, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from portal.extensions import db_session
from portal.htmx import render
from portal.models import Site
from portal.resident import bp
from portal.resident.common import may_print_sticker, my_outlets, outlet_state, state_class, visible_charge_point
from portal.services.charging import finding


@bp.route("/chargers/search")
@login_required
def charger_search():
    """Search by charger name, identity or site among the chargers the user may use (active search)."""
    q = request.args.get("q", "")[:80]
    results = finding.search(db_session(), current_user, q)
    return render("resident/search.html", block="results", q=q, results=results, too_short=len(q.strip()) < 2,
                  mine=my_outlets(current_user.id), outlet_state=outlet_state, state_class=state_class)


@bp.route("/sites/<slug>")
@login_required
def site_page(slug: str):
    """A location with the chargers this user may use there; everybody sees its public chargers."""
    s = db_session()
    site = s.scalar(select(Site).where(Site.slug == slug))
    if site is None:
        abort(404)
    cps = finding.site_chargers(s, current_user, site)
    if cps is None:
        abort(404)
    return render("resident/site.html", site=site, cps=cps, mine=my_outlets(current_user.id),
                  outlet_state=outlet_state, state_class=state_class)


def start_url(identity: str) -> str:
    base = current_app.config.get("PORTAL_BASE_URL", "").rstrip("/") or request.host_url.rstrip("/")
    return base + url_for("resident.start_screen", identity=identity)


@bp.route("/c/<identity>/sticker")
@login_required
def sticker(identity: str):
    """A label for a sticker sheet: charger name, identity, site, QR code, short address, support phone."""
    cp = visible_charge_point(identity)
    if not may_print_sticker(cp):
        abort(403)
    import segno

    target = start_url(cp.identity)
    buffer = io.BytesIO()
    segno.make(target, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False, svgns=True,
                                       title=cp.display_name, svgclass="sticker-qr", lineclass=None)
    short = target.split("://", 1)[-1]
    return render("resident/sticker.html", cp=cp, qr_svg=Markup(buffer.getvalue().decode()), short_url=short,
                  support_phone=current_app.config["SUPPORT_PHONE"])
