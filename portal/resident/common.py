"""Access checks, plain-word statuses and refusal reasons shared by the resident pages."""
from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from portal.extensions import db_session
from portal.htmx import render
from portal.models import ChargePoint, Connector, Tariff, TariffGroup
from portal.services import start_facts
from portal.services.access import OCCUPIED_STATUSES, can_see_charge_point, membership
from portal.services.start_facts import StartFacts

# Every refusal reason of portal.services.access.REASONS (and the actions service) in plain words,
# with what the resident can do about it.
REASON_TEXT = {
    "no_access": (_l("You have no access to this charger."),
                  _l("If you live here, ask the board of your housing cooperative to invite you.")),
    "personal_not_owner": (_l("This is a personal charger: only its owner can charge here."),
                           _l("Use one of the shared chargers, or ask the board about your own.")),
    "disabled": (_l("This charger has been switched off by the site."),
                 _l("Use another charger, or ask the board when it will be back.")),
    "no_tariff": (_l("No price has been set up for you at this charger."),
                  _l("Activate a subscription for this site, or ask the board which one you need.")),
    "not_allowed": (_l("Your subscriptions do not allow charging here."),
                    _l("Activate the subscription for residents, or ask the board for one.")),
    "offline": (_l("The charger is not connected to us right now."),
                _l("Check that it has power and try again in a few minutes. If it stays offline, contact support.")),
    "faulted": (_l("The charger reports a fault."),
                _l("Try another outlet or charger, and contact support so we can look at it.")),
    "unavailable": (_l("This outlet cannot be used right now."),
                    _l("Choose another outlet, or try again in a while.")),
    "occupied": (_l("Someone is already charging at this outlet."),
                 _l("Choose a free outlet.")),
    "reserved": (_l("This outlet is reserved."),
                 _l("Choose another outlet.")),
    "blocked_tag": (_l("Your charging tag is blocked."),
                    _l("Unblock it under RFID tags, or contact support.")),
    "unknown_tag": (_l("Your account has no charging tag yet."),
                    _l("Contact support and we will fix it.")),
    "already_charging": (_l("You are already charging at this outlet."),
                         _l("Open the running session to follow or stop it.")),
    "pending": (_l("Your start request is already on its way."),
                _l("Wait a few seconds for the charger to answer.")),
}
DEFAULT_REASON = (_l("Charging cannot be started right now."), _l("Try again in a moment, or contact support."))


def reason_text(reason: str) -> tuple[str, str]:
    """(what is wrong, what to do) for a refusal reason code."""
    message, hint = REASON_TEXT.get(reason, DEFAULT_REASON)
    return str(message), str(hint)


@dataclass(frozen=True)
class OutletState:
    code: str  # css/testing key: available, ready, mine, busy, offline, faulted, disabled, reserved, unavailable
    label: str


STATE_LABELS = {
    "available": _l("Available"),
    "ready": _l("Car plugged in, ready to start"),
    "mine": _l("In use by you"),
    "busy": _l("In use"),
    "offline": _l("Offline"),
    "faulted": _l("Faulted"),
    "disabled": _l("Disabled"),
    "reserved": _l("Reserved"),
    "unavailable": _l("Not available"),
}
STATE_CLASS = {"ready": "available", "reserved": "busy", "unavailable": "disabled"}


def outlet_state(cp: ChargePoint, connector: Connector, mine: set[tuple[int, int]]) -> OutletState:
    """The outlet's state in plain words, from this user's point of view."""
    whole = cp.connector(0)
    if not cp.enabled:
        code = "disabled"
    elif not cp.online:
        code = "offline"
    elif connector.status == "Faulted" or (whole is not None and whole.status == "Faulted"):
        code = "faulted"
    elif (cp.id, connector.connector_id) in mine:
        code = "mine"
    elif connector.status in OCCUPIED_STATUSES:
        code = "busy"
    else:
        code = {"Available": "available", "Preparing": "ready", "Reserved": "reserved"}.get(connector.status,
                                                                                            "unavailable")
    return OutletState(code, str(STATE_LABELS[code]))


def state_class(code: str) -> str:
    return STATE_CLASS.get(code, code)


def charge_point_by_identity(identity: str) -> ChargePoint:
    """The charge point with what its start screen reads (site, outlets, tariffs and their restrictions)
    loaded in five queries instead of one lazy load each (eight on a site with two tariffs)."""
    cp = db_session().scalar(select(ChargePoint).where(ChargePoint.identity == identity).options(
        joinedload(ChargePoint.site), selectinload(ChargePoint.connectors),
        joinedload(ChargePoint.tariff_group).selectinload(TariffGroup.tariffs).options(
            selectinload(Tariff.restrictions), selectinload(Tariff.group_restrictions))))
    if cp is None:
        abort(404)
    return cp


def refuse_page(status: int = 403):
    """A clear refusal that shows nothing of the charger or its site."""
    message, hint = reason_text("no_access")
    return render("resident/refused.html", block="refused", status=status, message=message, hint=hint)


class Refused(Exception):
    """Raised by visible_charge_point; the caller returns refuse_page()."""


def visible_charge_point(identity: str) -> ChargePoint:
    """The charge point if the current user may see it; 404 when unknown, Refused when not theirs."""
    cp = charge_point_by_identity(identity)
    if not can_see_charge_point(db_session(), current_user, cp):
        raise Refused(identity)
    return cp


def visible_start_facts(identity: str) -> StartFacts:
    """The start screen's facts (portal.services.start_facts) if the current user may see the charger;
    404 when unknown, Refused when not theirs. One membership read decides both access and the sticker."""
    facts = start_facts.load(db_session(), identity, current_user.id)
    if facts is None:
        abort(404)
    if not facts.visible_to(current_user):
        raise Refused(identity)
    return facts


def may_print_sticker(cp: ChargePoint) -> bool:
    """Board members of the charger's site and operator staff."""
    if current_user.is_staff:
        return True
    m = membership(db_session(), current_user.id, cp.site_id)
    return m is not None and m.role == "board"
