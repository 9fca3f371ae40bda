"""OCPP words a board member sees, translated and with a colour: connector statuses, error codes,
and the states of requests sent to a charger. Available in every site template (context processor)."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from portal.models import ChargePoint, Connector
from portal.site import bp

CONNECTOR_STATUS = {
    "Available": (_l("Available"), "available"),
    "Preparing": (_l("Car connected, not charging yet"), "busy"),
    "Charging": (_l("Charging"), "busy"),
    "SuspendedEV": (_l("Paused by the car (full or not drawing power)"), "suspended"),
    "SuspendedEVSE": (_l("Paused by the charger (power limit)"), "suspended"),
    "Finishing": (_l("Finishing, cable still connected"), "busy"),
    "Reserved": (_l("Reserved"), "busy"),
    "Unavailable": (_l("Unavailable"), "disabled"),
    "Faulted": (_l("Faulted"), "faulted"),
}
ERROR_CODES = {
    "ConnectorLockFailure": _l("the cable lock does not work"),
    "EVCommunicationError": _l("no contact with the car"),
    "GroundFailure": _l("earth fault"),
    "HighTemperature": _l("too hot"),
    "InternalError": _l("internal error in the charger"),
    "LocalListConflict": _l("conflicting list of cards"),
    "OtherError": _l("other error"),
    "OverCurrentFailure": _l("too much current"),
    "OverVoltage": _l("voltage too high"),
    "PowerMeterFailure": _l("the energy meter does not work"),
    "PowerSwitchFailure": _l("the power switch does not work"),
    "ReaderFailure": _l("the card reader does not work"),
    "ResetFailure": _l("the restart failed"),
    "UnderVoltage": _l("voltage too low"),
    "WeakSignal": _l("weak mobile signal"),
}
ACTION_STATES = {
    "queued": _l("waiting to be sent"),
    "sent": _l("sent, waiting for the answer"),
    "accepted": _l("accepted"),
    "rejected": _l("refused by the charger"),
    "failed": _l("could not be delivered"),
    "timed_out": _l("no answer in time"),
    "charger_offline": _l("the charger was offline"),
}


@dataclass(frozen=True)
class Badge:
    label: str
    css: str
    code: str  # the OCPP word, for tests and support


def outlet_badge(cp: ChargePoint, connector: Connector) -> Badge:
    """One outlet as a board member sees it; an offline charger's outlets are 'Offline' whatever they last said."""
    if not cp.online:
        return Badge(str(_l("Offline")), "offline", "offline")
    label, css = CONNECTOR_STATUS.get(connector.status, (connector.status, "disabled"))
    text = str(label)
    if connector.status == "Faulted" and connector.error_code in ERROR_CODES:
        text = f"{text}: {ERROR_CODES[connector.error_code]}"
    return Badge(text, css, connector.status)


def action_state(state: str) -> str:
    return str(ACTION_STATES.get(state, state))


@bp.app_context_processor
def _words() -> dict:
    return {"outlet_badge": outlet_badge, "action_state_text": action_state}
