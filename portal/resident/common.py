"""Access checks and plain-word statuses shared by the resident pages."""
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
from portal.refusals import start_refusal
from portal.services.charging import sessions, start_facts
from portal.services.charging.access import OCCUPIED_STATUSES, can_see_charge_point, membership
from portal.services.charging.start_facts import StartFacts

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


def my_outlets(user_id: int) -> set[tuple[int, int]]:
    """(charge point id, connector id) of the user's running sessions."""
    return {(tx.charge_point_id, tx.connector_id) for tx in sessions.active_sessions(db_session(), user_id)}


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
    message, hint = start_refusal("no_access")
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
    """The start screen's facts (portal.services.charging.start_facts) if the current user may see the charger;
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
