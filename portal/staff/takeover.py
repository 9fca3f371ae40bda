"""Taking over a cooperative (/staff/sites/takeover): upload the other operator's CSV files, see per line
what would change (nothing is written), then apply exactly that. Shares portal/services/fleet/takeover.py
with `flask --app portal sites import-takeover`."""
from __future__ import annotations

import base64
import binascii

from flask import request
from flask_login import current_user
from sqlalchemy import select

from portal import refusals
from portal.extensions import db_session, redis_conn
from portal.htmx import render
from portal.models import Site
from portal.services.fleet import onboarding, takeover
from portal.services.people.mail import enqueue_outbox
from portal.staff import bp
from portal.staff.common import all_sites, staff_area
from portal.staff.fleet_forms import TakeoverForm


class _Unreadable(Exception):
    pass


def _form() -> TakeoverForm:
    form = TakeoverForm()
    form.site.choices = [("", "–")] + [(s.slug, s.name) for s in all_sites()]
    return form


def _text(upload, hidden: str | None) -> str:
    """The uploaded file, else the text checked before (base64 in a hidden field)."""
    try:
        if upload is not None and getattr(upload, "filename", ""):
            return upload.read(takeover.MAX_BYTES + 1).decode("utf-8-sig")
        return base64.b64decode(hidden or "", validate=True).decode("utf-8")
    except (UnicodeDecodeError, binascii.Error, ValueError):
        raise _Unreadable() from None


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _page(form: TakeoverForm, status: int = 200, outcome=None):
    return render("staff/takeover.html", status=status, form=form, outcome=outcome, section="sites",
                  reason_text=lambda code: refusals.text("takeover", code))


@bp.route("/sites/takeover", methods=["GET", "POST"])
@staff_area("support")
def takeover_import():
    form = _form()
    if request.method == "GET":
        return _page(form)
    if not form.validate_on_submit():
        return _page(form, 422)
    session = db_session()
    site = session.scalar(select(Site).where(Site.slug == form.site.data))
    try:
        texts = _text(form.chargers.data, form.chargers_data.data), _text(form.residents.data, form.residents_data.data)
    except _Unreadable:
        form.chargers.errors = [refusals.text("takeover", "unreadable")]
        return _page(form, 422)
    problem = "site_not_managed" if not onboarding.may_manage(current_user, site) else "" if any(texts) else "no_files"
    if problem:
        (form.site if problem == "site_not_managed" else form.chargers).errors = [refusals.text("takeover", problem)]
        return _page(form, 422)
    applying = request.form.get("step") == "apply"
    try:
        outcome = takeover.run(session, current_user, site, *texts, apply_it=applying, reason=form.reason.data,
                               expect_digest=form.digest.data if applying else None)
    except takeover.TakeoverRefused as exc:
        session.rollback()
        form.reason.errors = [refusals.text("takeover", exc.code)]
        outcome = takeover.run(session, current_user, site, *texts) if exc.code != "too_big" else None
        return _checked(form, texts, outcome, 422)
    if not applying:
        return _checked(form, texts, outcome)
    session.commit()
    enqueue_outbox(redis_conn(), outcome.outbox_ids)
    response = render("staff/takeover_done.html", site=site, outcome=outcome, section="sites")
    response.headers["Cache-Control"] = "no-store"  # new chargers' secrets are shown once
    return response


def _checked(form: TakeoverForm, texts: tuple[str, str], outcome, status: int = 200):
    """The dry run's report, with the checked text and its digest kept for the apply step."""
    form.chargers_data.data, form.residents_data.data = _b64(texts[0]), _b64(texts[1])
    form.digest.data = outcome.plan.digest() if outcome is not None else ""
    return _page(form, status, outcome)
