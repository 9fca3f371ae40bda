"""Support's charger pages: search, and one charger's live state, sessions, requests and message log."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import abort, request, url_for

from portal import refusals
from portal.extensions import db_session
from portal.htmx import render, wants_fragment
from portal.labels_ocpp import label
from portal.models import OcppMessage
from portal.services.charging import after_close, sessions
from portal.services.people.secrets import redact_frame
from portal.services.staff import diagnostics
from portal.services.staff.diagnostics import LogFilter
from portal.services.staff.message_facts import facts
from portal.staff import bp
from portal.staff.common import all_sites, charger_or_404, site_by_slug, staff_area
from portal.staff.explain import explanations

PAYLOAD_SHOWN = 20000  # characters of one pretty-printed payload
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


def _page_number() -> int:
    text = request.args.get("page", "1")
    return min(int(text), 100000) if text.isdigit() and int(text) > 0 else 1


def _log_context(cp, form: LogFilterForm) -> dict:
    """One page of the message log, each row with its plain lines and the links to newer and older pages."""
    session = db_session()
    log = diagnostics.message_log(session, cp.identity, log_filter(form), _page_number())
    answered = diagnostics.call_actions(session, cp.identity, log.messages)
    kept = {k: v for k, v in request.args.items() if k not in ("page", "part") and v}

    def page_url(page: int, fragment: bool = False) -> str:
        if fragment:
            return url_for("staff.charger", identity=cp.identity, page=page, part="log", **kept)
        return url_for("staff.charger", identity=cp.identity, page=page, **kept) + "#message-log"

    return dict(form=form, log=log, answered=answered, page_url=page_url,
                explain=lambda m: explanations(facts(m.frame, m.action, answered.get(m.unique_id or "", ""))))


@bp.route("/chargers/<identity>")
@staff_area("support")
def charger(identity: str):
    """The whole page; htmx asks for the live block (polling every few seconds) or the log block (filters,
    paging); ?message=id shows one logged frame in full. A new panel is one more <section> include."""
    cp = charger_or_404(identity)
    if request.args.get("message"):
        return _message(cp, request.args["message"])
    session = db_session()
    part = request.args.get("part") if wants_fragment() else None
    alerts = dict(still_charging=after_close.still_reported(session, charge_point_id=cp.id),
                  after_close_energy=after_close.energy_to_review(session, charge_point_id=cp.id),
                  running=diagnostics.active_sessions(session, cp), energy=sessions.energy_so_far)
    if wants_fragment() and part != "log":
        return render("staff/charger.html", block="live", cp=cp, **alerts)  # the poll: live state only
    form = LogFilterForm(request.args)
    form.action.choices = [("", "–")] + [(a, f"{label(a, 'action')} ({a})")
                                         for a in diagnostics.logged_actions(session, cp.identity)]
    context = dict(cp=cp, **_log_context(cp, form))
    if part == "log":
        return render("staff/charger.html", block="log", **context)
    return render("staff/charger.html", **context, **alerts, transactions=diagnostics.recent_transactions(session, cp),
                  history=diagnostics.action_history(session, cp),
                  refusal=lambda code: refusals.start_refusal(code)[0].rstrip("."),
                  section="chargers")


def pretty_payload(frame: str) -> str:
    """A logged frame, secrets blanked, indented for reading (as it came when it is not JSON)."""
    shown = redact_frame(frame or "")
    try:
        shown = json.dumps(json.loads(shown), indent=2, ensure_ascii=False)
    except ValueError:
        pass
    return shown if len(shown) <= PAYLOAD_SHOWN else shown[:PAYLOAD_SHOWN] + "\n…"


def _message(cp, message_id: str):
    """One logged frame of the charger in full (?message=id: what a folded log row fetches when opened)."""
    readable = message_id.isdigit() and int(message_id) < 2**31
    message = db_session().get(OcppMessage, int(message_id)) if readable else None
    if message is None or message.identity != cp.identity:
        abort(404)
    return render("staff/message.html", block="payload", cp=cp, m=message, payload=pretty_payload(message.frame),
                  section="chargers")
