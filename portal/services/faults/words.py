"""Plain words for what chargers report (OCPP 1.6 ChargePointErrorCode) and for incident causes."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ERROR_CODES = {
    "ConnectorLockFailure": _l("The cable lock of the outlet does not work."),
    "EVCommunicationError": _l("The charger cannot talk to the car."),
    "GroundFailure": _l("The charger found an earth fault and cut the power."),
    "HighTemperature": _l("The charger is too hot."),
    "InternalError": _l("The charger has an internal fault."),
    "LocalListConflict": _l("The charger's own list of cards disagrees with ours."),
    "NoError": _l("No fault reported."),
    "OtherError": _l("The charger reports a fault of another kind."),
    "OverCurrentFailure": _l("The car drew more current than allowed, so the charger stopped."),
    "OverVoltage": _l("The mains voltage is too high."),
    "PowerMeterFailure": _l("The charger's energy meter does not work."),
    "PowerSwitchFailure": _l("The charger's power switch does not work."),
    "ReaderFailure": _l("The card reader does not work."),
    "ResetFailure": _l("The charger could not restart."),
    "UnderVoltage": _l("The mains voltage is too low."),
    "WeakSignal": _l("The charger's mobile signal is weak."),
}

CAUSES = {
    "faulted": _l("The charger reports a fault"),
    "offline": _l("The charger is offline"),
    "suspended_evse": _l("The charger holds back charging"),
    "unavailable": _l("The charger is unavailable without being asked"),
    "failed_starts": _l("Starts keep failing"),
    "site_dark": _l("Every charger at the site went offline"),
}

STATUSES = {"open": _l("Open"), "recovering": _l("Recovering"), "resolved": _l("Resolved")}

OWNERS = {
    "unknown": _l("Not known yet"),
    "operator": _l("Ours (the operator)"),
    "cooperative_network": _l("The cooperative's network"),
    "cooperative_power": _l("The cooperative's power supply"),
    "grid": _l("The grid"),
}


def error_words(code: str | None) -> str:
    """The error code in plain words, or the code itself when it is not a standard one."""
    if not code:
        return ""
    words = ERROR_CODES.get(code)
    return str(words) if words is not None else code


def cause_words(cause: str) -> str:
    return str(CAUSES.get(cause, cause))
