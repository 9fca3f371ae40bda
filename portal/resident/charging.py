"""Live session (follows the start request, then energy, power, duration, cost), stop, receipts, history, CSV."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import abort, current_app, make_response, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.extensions import db_session, redis_conn
from portal.htmx import hx_redirect, render, render_live, wants_fragment
from portal.models import ActionRequest, Transaction
from portal.resident import bp
from portal.resident.forms import EmptyForm
from portal.services.billing import receipts
from portal.services.charging import sessions
from portal.services.billing.pricing import format_amount
from portal.web import current_language

log = logging.getLogger(__name__)


def _step_text(state: str) -> str:
    """What the page says while the start request travels (per request, in the user's language)."""
    return {
        "queued": _("Waiting for our system to send the request…"),
        "sent": _("Sent to the charger, waiting for its answer…"),
        "accepted": _("The charger accepted. Charging starts as soon as the car is ready…"),
        "rejected": _("The charger refused to start. Check that the cable is plugged in and try again."),
        "failed": _("The request could not be delivered to the charger. Try again, or contact support."),
        "timed_out": _("The charger did not answer in time. Try again, or contact support."),
        "charger_offline": _("The charger is not connected right now. Try again in a few minutes."),
        "no_start": _("The charger accepted but charging never began. Check the cable and try again."),
    }.get(state, state)


def _own_transaction(tx_id: int) -> Transaction:
    """The user's own session; anyone else's is 404 (never another user's data)."""
    tx = db_session().get(Transaction, tx_id)
    if tx is None or tx.user_id != current_user.id:
        abort(404)
    return tx


def _live_context(action: ActionRequest | None, tx: Transaction | None) -> dict:
    s = db_session()
    figures = sessions.live_figures(s, tx) if tx is not None else None
    stop_action = sessions.pending_stop(s, tx) if tx is not None and tx.is_active else None
    start_failed = action is not None and tx is None and (
        action.state not in ("queued", "sent", "accepted") or action.no_start_flag)
    step = "no_start" if action is not None and action.no_start_flag else (action.state if action else "")
    polling = (tx is not None and tx.is_active) or (tx is None and not start_failed)
    cp = tx.charge_point if tx is not None else action.charge_point
    return dict(
        action=action, tx=tx, cp=cp, figures=figures, stop_action=stop_action, start_failed=start_failed,
        can_stop=tx is not None and tx.is_active and sessions.may_send_stop(stop_action),
        step=step, step_text=_step_text(step) if step else "", polling=polling,
        chart=sessions.power_chart(figures.samples) if figures else None,
        duration=sessions.format_duration(figures.duration) if figures else "",
        power_text=_power_text(figures.power_w if figures else None),
        busy=request.args.get("busy") == "1" and action is not None and action.state == "queued",
        form=EmptyForm(),
        receipt=receipts.receipt(s, tx) if tx is not None and not tx.is_active else None,
        operator=(current_app.config["OPERATOR_NAME"], current_app.config["OPERATOR_ORG_NUMBER"]),
    )


def _power_text(watts: int | None) -> str:
    if watts is None:
        return "–"
    return format_amount(Decimal(watts) / 1000, current_language(), places=1) + " kW"


@bp.route("/charging/<int:action_id>")
@login_required
def live(action_id: int):
    """Follow a remote start: queued → sent → accepted → charging, then the session's figures."""
    action = sessions.user_action(db_session(), current_user.id, action_id)
    if action is None:
        abort(404)
    tx = action.transaction
    if tx is not None and tx.user_id != current_user.id:
        tx = None
    return render_live("resident/session.html", "live", **_live_context(action, tx))


@bp.route("/sessions/<int:tx_id>")
@login_required
def session_detail(tx_id: int):
    """A session: live while it runs, the receipt once it is finished."""
    tx = _own_transaction(tx_id)
    return render_live("resident/session.html", "live", **_live_context(None, tx))


@bp.route("/sessions/<int:tx_id>/stop", methods=["POST"])
@login_required
def stop(tx_id: int):
    """Ask the charger to stop this session; the page keeps following it until the receipt."""
    tx = _own_transaction(tx_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if tx.is_active and sessions.may_send_stop(sessions.pending_stop(db_session(), tx)):
        from portal.services.charging import action_queue, actions

        s = db_session()
        try:
            action = actions.request_remote_stop(s, current_user, tx)
        except actions.ActionRefused as exc:
            s.rollback()
            log.info("stop of %s refused: %s", tx.id, exc.reason)
            return _stop_problem(tx, _("The stop could not be sent. Try again, or stop charging at the charger "
                                       "by unplugging the car."))
        s.commit()
        try:
            action_queue.enqueue_action(redis_conn(), action.id)
        except actions.QueueUnavailable:
            return _stop_problem(tx, _("Our system is busy. Your stop request is kept; press Stop again to retry."))
    return _after_post(tx)


@bp.route("/sessions/<int:tx_id>/stop-charger", methods=["POST"])
@login_required
def stop_after_close(tx_id: int):
    """Stop charging that goes on after support ended the session: a RemoteStopTransaction, never billed."""
    tx = _own_transaction(tx_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    from portal.services.charging import action_queue, actions, after_close

    s = db_session()
    try:
        action = after_close.request_stop(s, current_user, tx)
    except actions.ActionRefused as exc:
        s.rollback()
        log.info("stop after close of %s refused: %s", tx.id, exc.reason)
    else:
        s.commit()
        try:
            action_queue.enqueue_action(redis_conn(), action.id)
        except actions.QueueUnavailable:
            log.warning("stop after close of %s kept queued: the queue is unavailable", tx.id)
    return hx_redirect("resident.start_screen", identity=tx.charge_point.identity)


def _stop_problem(tx: Transaction, message: str):
    context = _live_context(None, tx)
    context["problem"] = message
    return render("resident/session.html", block="live", status=200, **context)


def _after_post(tx: Transaction):
    if wants_fragment():
        return render("resident/session.html", block="live", **_live_context(None, tx))
    return hx_redirect("resident.session_detail", tx_id=tx.id)


PER_PAGE = 50


@dataclass(frozen=True)
class HistoryFilter:
    month: tuple[int, int] | None
    site_id: int | None
    page: int

    def args(self, **change) -> dict:
        """Query arguments of this filter (for links and the CSV), with some changed."""
        values = {"month": f"{self.month[0]:04d}-{self.month[1]:02d}" if self.month else None,
                  "site": self.site_id, "page": self.page if self.page > 1 else None}
        values.update(change)
        return {k: v for k, v in values.items() if v}


def _history_filter(site_ids: set[int]) -> HistoryFilter:
    """?month=YYYY-MM&site=ID&page=N; anything malformed or not the user's own is ignored."""
    month = None
    match = re.fullmatch(r"(\d{4})-(\d{2})", request.args.get("month", ""))
    if match and 2000 <= int(match[1]) <= 2100 and 1 <= int(match[2]) <= 12:
        month = (int(match[1]), int(match[2]))
    site = request.args.get("site", "")
    site_id = int(site) if site.isdigit() and int(site) in site_ids else None
    page = request.args.get("page", "")
    return HistoryFilter(month, site_id, min(int(page), 100_000) if page.isdigit() and int(page) > 0 else 1)


@bp.route("/history")
@login_required
def history():
    """The user's sessions, filtered by month and site, 50 to a page, with monthly totals of the filter."""
    s = db_session()
    months, sites = sessions.history_choices(s, current_user.id)
    flt = _history_filter({sid for sid, _ in sites})
    every = sessions.user_transactions(s, current_user.id, site_id=flt.site_id, month=flt.month)
    pages = max((len(every) + PER_PAGE - 1) // PER_PAGE, 1)
    page = min(flt.page, pages)
    txs = every[(page - 1) * PER_PAGE:page * PER_PAGE]
    return render("resident/history.html", transactions=txs, totals=sessions.monthly_totals(every),
                  energy=sessions.energy_so_far, month_label=_month_label, months=months, sites=sites, flt=flt,
                  page=page, pages=pages, total_count=len(every))


def _month_label(total) -> str:
    from flask_babel import format_date

    return format_date(date(total.year, total.month, 1), "LLLL y")


@bp.route("/history.csv")
@login_required
def history_csv():
    """The user's own sessions as CSV, with the same month and site filter as the page (every page of it)."""
    s = db_session()
    _, sites = sessions.history_choices(s, current_user.id)
    flt = _history_filter({sid for sid, _ in sites})
    txs = sessions.user_transactions(s, current_user.id, site_id=flt.site_id, month=flt.month)
    response = make_response("\ufeff" + sessions.sessions_csv(txs, current_language()))
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="charging-sessions.csv"'
    return response
