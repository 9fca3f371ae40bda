"""My chargers, the start screen of a charge point, its favourite toggle, autostart setting and QR sticker."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

from flask import abort, current_app, flash, make_response, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from portal.extensions import db_session, redis_conn
from portal.htmx import hx_redirect, redirect_to, render, render_live, wants_fragment
from portal.models import ChargePoint, Site
from portal.refusals import start_refusal
from portal.resident import bp
from portal.resident.common import (
    Refused, may_print_sticker, my_outlets, outlet_state, refuse_page, state_class, visible_charge_point,
    visible_start_facts,
)
from portal.resident.forms import AuthSettingForm, EmptyForm, FavouriteForm, StartForm
from portal.security.redirects import safe_next
from portal.services.billing import spot
from portal.services.charging import access, after_close, favourites, sessions, starting
from portal.services.billing.pricing import comparison_price
from portal.services.charging.start_facts import ChargePointFacts, StartFacts


@bp.errorhandler(Refused)
def _refused(_exc: Refused):
    return refuse_page()


@bp.route("/chargers")
@login_required
def my_chargers():
    """The sites the resident belongs to, with their chargers and outlets in plain words."""
    s = db_session()
    site_ids = access.member_site_ids(s, current_user.id)
    owned = set(s.scalars(select(ChargePoint.site_id).where(ChargePoint.owner_id == current_user.id)))
    sites = s.scalars(select(Site).where(Site.id.in_(site_ids | owned)).order_by(Site.name)
                      .options(selectinload(Site.charge_points).selectinload(ChargePoint.connectors))).all()
    groups = []
    for site in sites:
        cps = [cp for cp in sorted(site.charge_points, key=lambda c: c.display_name.lower())
               if (cp.cp_type != "personal" or cp.owner_id == current_user.id)
               and access.can_see_charge_point(s, current_user, cp)]
        groups.append((site, cps, favourites.find(s, current_user, site=site)))
    return render("resident/chargers.html", block="chargers", groups=groups, mine=my_outlets(current_user.id),
                  outlet_state=outlet_state, state_class=state_class, fav_form=FavouriteForm())


@dataclass(frozen=True)
class PriceView:
    allowed: bool
    reason: str
    tariff_name: str = ""
    per_kwh: Decimal | None = None
    spot: bool = False
    min_price_minor: int = 0
    preauth_minor: int = 0


def price_view(cp: ChargePointFacts, decision: access.StartDecision) -> PriceView:
    """The one price that applies to this user here (the tariff the start will be billed by)."""
    choice = decision.tariff_choice
    if choice is None or not choice.allowed:
        return PriceView(False, choice.reason if choice else decision.reason)
    tariff = choice.tariff
    spot_now = None
    if tariff.pricing_type == "spot":
        spot_now = spot.price_at(db_session(), cp.site.price_area, datetime.now(timezone.utc))
    return PriceView(True, "ok", tariff.name, comparison_price(tariff, spot_now, cp.site.vat_rate_bp),
                     tariff.pricing_type == "spot", tariff.min_price_minor, tariff.preauth_minor)


def _start_form(cp: ChargePointFacts, mine: set[tuple[int, int]] | None) -> StartForm:
    """The outlet choice; without `mine` (the start POST, which only validates) the labels say no state."""
    form = StartForm()
    _label_outlets(form, cp, mine)
    if request.method == "GET" or form.connector.data is None:
        free = [c.connector_id for c in cp.outlets if access.connector_problem(cp, c) is None]
        form.connector.data = (free or [c.connector_id for c in cp.outlets] or [None])[0]
    return form


def _label_outlets(form: StartForm, cp: ChargePointFacts, mine: set[tuple[int, int]] | None) -> None:
    form.connector.choices = [
        SelectChoice(c.connector_id, f"{_('Outlet %(n)s', n=c.connector_id)}: {outlet_state(cp, c, mine).label}"
                     if mine is not None else _("Outlet %(n)s", n=c.connector_id))
        for c in cp.outlets]


def start_context(facts: StartFacts, form: StartForm | None = None, refusal: str | None = None,
                  whole_page: bool = True) -> dict:
    """Everything the start screen shows for the current user; without ``whole_page`` only what its
    live block shows (the fragment polled every second skips the favourite, sticker and auth forms)."""
    s = db_session()
    cp = facts.cp
    active = sessions.active_sessions(s, current_user.id)
    mine = {(tx.charge_point_id, tx.connector_id) for tx in active}
    decision = facts.decision(current_user.id, check_connector=False)
    if decision.allowed and not any(access.connector_problem(cp, c) is None for c in cp.outlets):
        first = cp.outlets[0] if cp.outlets else None
        decision = access.StartDecision(False, access.connector_problem(cp, first) or "unavailable",
                                        decision.tariff_choice)
    running = [tx for tx in active if tx.charge_point_id == cp.id]
    still_charging = after_close.still_reported(s, charge_point_id=cp.id, user_id=current_user.id, limit=5)
    reason = refusal or (None if decision.allowed else decision.reason)
    if form is not None:
        _label_outlets(form, cp, mine)
    return dict(
        cp=cp, site=cp.site, decision=decision, price=price_view(cp, decision), form=form or _start_form(cp, mine),
        refusal=reason, refusal_text=start_refusal(reason) if reason else None, running=running,
        pending=sessions.pending_start(s, current_user.id, cp.id), mine=mine,
        still_charging=still_charging, stops_after_close={tx.id: sessions.pending_stop(s, tx) for tx in still_charging},
        outlet_state=outlet_state, state_class=state_class,
        is_owner=cp.cp_type == "personal" and cp.owner_id == current_user.id, status_hidden=status_hidden(cp),
        **(dict(fav=favourites.find(s, current_user, cp=cp), fav_form=FavouriteForm(), auth_form=_auth_form(cp),
                may_print=facts.may_print_sticker(current_user)) if whole_page else {}),
    )


def status_hidden(cp: ChargePointFacts) -> bool:
    """A personal charger's live status tells whether its owner is at home: only the owner (and staff) see it."""
    return cp.cp_type == "personal" and cp.owner_id != current_user.id and not current_user.is_staff


def _auth_form(cp: ChargePointFacts) -> AuthSettingForm:
    form = AuthSettingForm(formdata=None)
    form.auth.data = "required" if cp.auth_required else "not_required"
    return form


@bp.route("/c/<identity>")
def start_screen(identity: str):
    """The charge point's start screen (the QR sticker's address). Logged-out visitors are asked to log in."""
    if not current_user.is_authenticated:
        cp = db_session().scalar(select(ChargePoint).where(ChargePoint.identity == identity))
        if cp is None:
            abort(404)
        login_url = url_for("auth.login", next=url_for("resident.start_screen", identity=identity))
        register_url = (url_for("auth.register", next=url_for("resident.start_screen", identity=identity))
                        if "auth.register" in current_app.view_functions else None)
        return render("resident/start_anonymous.html", cp=cp, login_url=login_url, register_url=register_url)
    facts = visible_start_facts(identity)
    return render_live("resident/start.html", "live", **start_context(facts, whole_page=not wants_fragment()))


@bp.route("/c/<identity>/start", methods=["POST"])
@login_required
def start(identity: str):
    """Ask the charger to start; the live page follows the request.

    starting.start_charging (the operation autostart uses too) decides on the start screen's facts, read
    in three queries (access.decide_start, the same rule as the OCPP node's): site access or ownership,
    the charger enabled, the user's tariff, the outlet's state; CSRF by the form; one start per outlet
    and tap by the database (actions.place_remote_start), so a tap of the same person lands on their
    request while it is pending, accepted or charging."""
    facts = visible_start_facts(identity)
    cp = facts.cp
    form = _start_form(cp, None)
    if not form.validate_on_submit():
        return render("resident/start.html", block="start_panel", status=422, **start_context(facts, form))
    from portal.services.charging import actions

    s = db_session()
    try:
        action_id = starting.start_charging(
            s, current_user, cp, form.connector.data,
            decide=lambda connector_id, check: facts.decision(current_user.id, connector_id, check_connector=check))
    except actions.ActionRefused as exc:
        s.rollback()
        return render("resident/start.html", block="start_panel", status=409,
                      **start_context(facts, form, refusal=exc.reason))
    s.commit()
    busy = not starting.enqueue_start(redis_conn(), action_id)
    return hx_redirect("resident.live", action_id=action_id, **({"busy": 1} if busy else {}))


# --- favourites from the start screen and the charger list ------------------------------------

def _toggle_response(fav, *, cp: ChargePoint | None = None, site: Site | None = None, fallback: str):
    if wants_fragment():
        return render("resident/_fav_button.html", fav=fav, cp=cp, site=site, fav_form=FavouriteForm())
    return redirect_to(safe_next(FavouriteForm().next.data, fallback))


@bp.route("/c/<identity>/favourite", methods=["POST"])
@login_required
def favourite_charge_point(identity: str):
    """Add or remove (toggle) this charge point as a favourite."""
    cp = visible_charge_point(identity)
    form = FavouriteForm()
    if not form.validate_on_submit():
        abort(400)
    s = db_session()
    fav = None if favourites.remove_target(s, current_user, cp=cp) else favourites.add(s, current_user, cp=cp)
    s.commit()
    return _toggle_response(fav, cp=cp, fallback=url_for("resident.start_screen", identity=cp.identity))


@bp.route("/sites/<slug>/favourite", methods=["POST"])
@login_required
def favourite_site(slug: str):
    """Add or remove (toggle) a whole location as a favourite."""
    s = db_session()
    site = s.scalar(select(Site).where(Site.slug == slug))
    if site is None:
        abort(404)
    if not access.can_view_site(s, current_user, site.id):
        return refuse_page()
    if not FavouriteForm().validate_on_submit():
        abort(400)
    fav = None if favourites.remove_target(s, current_user, site=site) else favourites.add(s, current_user, site=site)
    s.commit()
    return _toggle_response(fav, site=site, fallback=url_for("resident.my_chargers"))


# --- personal charger: authentication (autostart) -----------------------------------------------

@bp.route("/c/<identity>/authentication", methods=["POST"])
@login_required
def authentication(identity: str):
    """The owner of a personal charger turns authentication on or off (off = autostart on plug-in)."""
    cp = visible_charge_point(identity)
    if cp.cp_type != "personal" or cp.owner_id != current_user.id:
        abort(403)
    form = AuthSettingForm()
    if not form.validate_on_submit():
        return render("resident/start.html", block="auth_setting", status=422,
                      **dict(start_context(visible_start_facts(identity)), auth_form=form))
    cp.auth_required = form.auth.data == "required"
    db_session().commit()
    flash(_("Authentication is now required.") if cp.auth_required
          else _("Authentication is off: charging starts when you plug in."), "success")
    return hx_redirect("resident.start_screen", identity=cp.identity)


# --- QR sticker -----------------------------------------------------------------------------------

@bp.route("/c/<identity>/qr.<kind>")
@login_required
def qr_sticker(identity: str, kind: str):
    """A printable QR code that opens this charger's start screen (board of the site and staff)."""
    if kind not in ("svg", "png"):
        abort(404)
    cp = visible_charge_point(identity)
    if not may_print_sticker(cp):
        abort(403)
    import segno

    base = current_app.config.get("PORTAL_BASE_URL", "").rstrip("/") or request.host_url.rstrip("/")
    target = base + url_for("resident.start_screen", identity=cp.identity)
    buffer = io.BytesIO()
    segno.make(target, error="m").save(buffer, kind=kind, scale=10, border=4)
    response = make_response(buffer.getvalue())
    response.headers["Content-Type"] = "image/svg+xml" if kind == "svg" else "image/png"
    response.headers["Content-Disposition"] = f'attachment; filename="qr-{cp.identity}.{kind}"'
    return response


@bp.route("/c/<identity>/retry/<int:action_id>", methods=["POST"])
@login_required
def retry(identity: str, action_id: int):
    """Hand a kept request to the workers again after the queue was busy."""
    cp = visible_charge_point(identity)
    action = sessions.user_action(db_session(), current_user.id, action_id)
    if action is None or action.charge_point_id != cp.id:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    from portal.services.charging import actions

    busy = False
    if action.state == "queued":
        if hasattr(actions, "retry_action"):  # (the tests' stand-in service has none)
            actions.retry_action(db_session(), action)  # a fresh deadline for the kept request
            db_session().commit()
        busy = not starting.enqueue_start(redis_conn(), action.id)
    return hx_redirect("resident.live", action_id=action.id, **({"busy": 1} if busy else {}))
