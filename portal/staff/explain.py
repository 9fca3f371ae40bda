"""Plain-language lines for common OCPP statuses and errors, as support can repeat them to a resident."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

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
}


def explanations(codes: list[str]) -> list[str]:
    """The plain lines for the codes we know (unknown codes say nothing)."""
    return [str(EXPLANATIONS[c]) for c in codes if c in EXPLANATIONS]
