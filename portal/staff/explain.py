"""Plain-language lines for every logged OCPP message and the common statuses and errors in it, as support
can repeat them to a resident. The facts come from portal/services/staff/message_facts.py."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from portal.labels_ocpp import label
from portal.services.billing import pricing
from portal.services.staff.message_facts import Fact

EXPLANATIONS = {
    "status:Available": _l("The outlet is free: no car is plugged in."),
    "status:Preparing": _l("A car is plugged in (or a card was shown) and the charger waits for the start."),
    "status:Charging": _l("The car is charging."),
    "status:SuspendedEV": _l("The car has paused charging: it is full, on a timer, or the car's own settings stop it."),
    "status:SuspendedEVSE": _l("The charger holds back power (load balancing or the charger's own limit)."),
    "status:Finishing": _l("Charging is over; the car is still plugged in."),
    "status:Unavailable": _l("The outlet is switched off (disabled, or the charger is restarting)."),
    "status:Faulted": _l("The charger reports a fault on this outlet: it cannot charge until it is cleared."),
    "status:Reserved": _l("The outlet is reserved for someone."),
    "error:EVCommunicationError": _l("The charger cannot talk to the car: unplug and plug the cable in again; "
                                     "if it repeats, the cable or the car's socket may be at fault."),
    "error:GroundFailure": _l("Earth fault detected: the charger stopped for safety. An electrician must look at it."),
    "error:OverCurrentFailure": _l("The car drew more current than allowed: the charger stopped for safety."),
    "error:ConnectorLockFailure": _l("The cable lock does not work: the cable may not be locked in place."),
    "error:HighTemperature": _l("The charger is too hot and has stopped or reduced power."),
    "error:PowerMeterFailure": _l("The charger's energy meter fails: sessions may be measured wrongly."),
    "error:ReaderFailure": _l("The RFID reader does not work: use the app to start."),
    "error:InternalError": _l("The charger reports an internal error: a restart (reset) often helps."),
    "error:OtherError": _l("The charger reports an error it does not name; see the vendor's error code."),
    "idtag:Invalid": _l("The charger was told this card or app tag is not valid here: unknown tag or no access."),
    "idtag:Blocked": _l("This card is blocked."),
    "idtag:Expired": _l("This card has expired."),
    "idtag:ConcurrentTx": _l("This card is already in use in another session."),
    "result:RemoteStartTransaction:Rejected": _l("The charger refused to start: usually no car plugged in, the "
                                                 "outlet is busy or faulted, or the charger is disabled."),
    "result:RemoteStopTransaction:Rejected": _l("The charger refused to stop: it does not know that session "
                                                "(already stopped?)."),
    "result:UnlockConnector:UnlockFailed": _l("The charger tried but could not unlock the cable."),
    "result:UnlockConnector:NotSupported": _l("This charger cannot unlock its cable remotely (fixed cable?)."),
    "result:Reset:Rejected": _l("The charger refused to restart."),
    "result:ChangeConfiguration:Rejected": _l("The charger refused the new value (read-only or not allowed)."),
    "result:ChangeConfiguration:NotSupported": _l("The charger does not know that configuration key."),
    "result:ChangeConfiguration:RebootRequired": _l("The new value is stored and takes effect after a restart."),
    "result:ChangeAvailability:Scheduled": _l("The change waits until the running session ends."),
    "result:TriggerMessage:NotImplemented": _l("The charger cannot send that message on request."),
    "callerror:NotImplemented": _l("One side did not understand the message (not implemented)."),
    "callerror:NotSupported": _l("One side does not support that message."),
    "callerror:FormationViolation": _l("A malformed message: the charger's firmware may not follow OCPP 1.6."),
    "callerror:PropertyConstraintViolation": _l("A message had a value out of range."),
    "callerror:OccurenceConstraintViolation": _l("A message lacked a required field."),
    "callerror:TypeConstraintViolation": _l("A message had a field of the wrong type."),
    "callerror:InternalError": _l("One side failed while handling the message."),
    "callerror:ProtocolError": _l("The message broke the OCPP rules (incomplete frame)."),
    "callerror:SecurityError": _l("The message was refused for security reasons."),
    "callerror:GenericError": _l("One side failed without saying why."),
    "callerror:OccurrenceConstraintViolation": _l("A message lacked a required field."),
}

# One sentence per fact of portal/services/staff/message_facts.py (values in %(...)s are put in plain words).
SENTENCES = {
    "heartbeat": _l("The charger says it is still connected."),
    "heartbeat_answer": _l("The system answered with its clock."),
    "boot": _l("The charger started up: %(vendor)s %(model)s, firmware %(firmware)s."),
    "boot_answer:Accepted": _l("The system accepted the charger: a heartbeat every %(interval)s seconds."),
    "boot_answer:Pending": _l("The system put the charger on hold: it will try again in %(interval)s seconds."),
    "boot_answer:Rejected": _l("The system refused the charger: unknown or not allowed here."),
    "authorize": _l("The charger asks whether a card may charge."),
    "idtag:Accepted": _l("The card may charge here."),
    "start": _l("Charging starts on outlet %(connector)s; the meter reads %(energy)s."),
    "start_answer": _l("The system opened session %(id)s."),
    "stop": _l("Session %(id)s stopped: %(reason)s; the meter reads %(energy)s."),
    "stop_answer": _l("The system closed the session."),
    "outlet_status": _l("Outlet %(connector)s: %(status)s."),
    "outlet_error": _l("Error: %(error)s %(vendor)s"),
    "meter": _l("Outlet %(connector)s: the meter reads %(energy)s, drawing %(power)s."),
    "data_transfer": _l("Vendor-specific data from %(vendor)s."),
    "diagnostics": _l("Diagnostics upload: %(status)s."),
    "firmware": _l("Firmware update: %(status)s."),
    "remote_start": _l("The portal asks the charger to start charging on outlet %(connector)s."),
    "remote_stop": _l("The portal asks the charger to stop session %(id)s."),
    "unlock": _l("The portal asks the charger to unlock the cable of outlet %(connector)s."),
    "reset:Soft": _l("The portal asks the charger to restart its software."),
    "reset:Hard": _l("The portal asks the charger to restart fully."),
    "availability:Operative": _l("The portal asks the charger to enable outlet %(connector)s (0: all)."),
    "availability:Inoperative": _l("The portal asks the charger to disable outlet %(connector)s (0: all)."),
    "change_config": _l("The portal asks the charger to change the setting %(key)s."),
    "get_config": _l("The portal asks the charger for its settings."),
    "config_answer": _l("The charger sent %(count)s settings."),
    "trigger": _l("The portal asks the charger to send: %(message)s."),
    "call": _l("Request: %(action)s."),
    "answer": _l("Answer to “%(action)s”: %(status)s."),
    "received": _l("The system received the “%(action)s” message."),
    "answer_unknown": _l("An answer to a request no longer in the log."),
    "callerror": _l("Error answer to “%(action)s”: %(code)s."),
    "callerror_alone": _l("Error answer: %(code)s."),
    "unreadable": _l("A frame that could not be read."),
}

# Which label catalogue puts a value in words.
VALUE_LABELS = {"status": "status", "reason": "reason", "error": "error", "action": "action", "message": "action",
                "code": "callerror"}


def _amount(value: Any, unit: str) -> str:
    if value is None:
        return "–"
    from portal.web import current_language

    return pricing.format_amount(Decimal(value) / 1000, current_language(), places=2) + " " + unit


def _words(name: str, value: Any) -> Any:
    if name in VALUE_LABELS:
        return label(str(value) if value is not None else "", VALUE_LABELS[name])
    return "–" if value is None or value == "" else value


def _values(params: dict[str, Any]) -> dict[str, Any]:
    values = {name: _words(name, value) for name, value in params.items()}
    if "energy_wh" in params:
        values["energy"] = _amount(params["energy_wh"], "kWh")
    if "power_w" in params:
        values["power"] = _amount(params["power_w"], "kW")
    return values


def explanations(facts: list[Fact]) -> list[str]:
    """The plain lines for the facts we know (unknown codes say nothing)."""
    lines = []
    for code, params in facts:
        if code in SENTENCES:
            lines.append(str(SENTENCES[code]) % _values(params))
        elif code in EXPLANATIONS:
            lines.append(str(EXPLANATIONS[code]))
    return lines
