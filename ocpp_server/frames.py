"""Reading a charger's frames before the library routes them: the message rate, parsing, and the strict
OCPP 1.6 checks with their CALLERROR codes (the table is in ocpp_server.v16's docstring)."""
from __future__ import annotations

import asyncio
import functools
import json
from typing import Any, Callable

import fastjsonschema
from ocpp.exceptions import (
    FormationViolationError, NotImplementedError as OcppNotImplemented, NotSupportedError,
    OccurenceConstraintViolationError, OCPPError, PropertyConstraintViolationError, ProtocolError,
    TypeConstraintViolationError,
)
from ocpp.messages import Call, CallError, CallResult, MessageType, get_validator
from ocpp.v16.enums import Action

KNOWN_ACTIONS = {a.value for a in Action}


class MessageRate:
    """A token bucket per connection: beyond the rate (bursts of five seconds' worth) reading waits."""

    __slots__ = ("per_second", "burst", "tokens", "updated")

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self.burst = max(per_second * 5, 1)
        self.tokens = self.burst
        self.updated = asyncio.get_running_loop().time()

    async def wait(self) -> None:
        if self.per_second <= 0:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now
        if self.tokens < 1:
            delay = (1 - self.tokens) / self.per_second
            await asyncio.sleep(delay)
            self.tokens, self.updated = 1, loop.time()
        self.tokens -= 1


# Parts of a message read sample by sample (bad samples are skipped and counted, never refused):
# refusing the whole MeterValues or StopTransaction would make the charger resend it forever.
TOLERATED_PARTS = {"MeterValues": "meterValue", "StopTransaction": "transactionData"}
# The 1.6 schemas say "integer" without bounds; these are the values the database can hold.
INTEGER_RANGES = {"connectorId": (0, 2**15), "transactionId": (-(2**31), 2**31 - 1),
                  "meterStart": (-(2**53), 2**53), "meterStop": (-(2**53), 2**53)}


def range_error(payload: dict) -> OCPPError | None:
    for field, (low, high) in INTEGER_RANGES.items():
        value = payload.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and not low <= value <= high:
            return PropertyConstraintViolationError(details={"cause": f"{field} is out of range"})
    return None


@functools.cache
def compiled_validator(action: str) -> Callable[[Any], Any] | None:
    """The 1.6 request schema compiled to Python (fastjsonschema): about ten times cheaper than
    jsonschema for a MeterValues (bench/validation.py). None when it cannot be compiled."""
    try:
        schema = get_validator(MessageType.Call, action, "1.6").schema
        return fastjsonschema.compile({k: v for k, v in schema.items() if k != "$schema"}, use_default=False)
    except Exception:  # an unknown action or a schema it cannot compile: jsonschema alone decides
        return None


def schema_error(action: str, payload: Any) -> OCPPError | None:
    """Strict OCPP 1.6 schema check of a charger's request, as the matching CALLERROR.

    The compiled validator answers the common case (a valid message); whenever it objects, jsonschema
    decides and names the error (it is authoritative: the compiled one also checks date-time formats,
    which the 1.6 schemas only annotate, and issue 11 tolerates bad samples inside MeterValues)."""
    if not isinstance(payload, dict):
        return FormationViolationError(details={"cause": "payload must be a JSON object"})
    fast = compiled_validator(action)
    if fast is not None:
        try:
            fast(payload)
            return None
        except fastjsonschema.JsonSchemaException:
            pass
    try:
        validator = get_validator(MessageType.Call, action, "1.6")
    except OSError:
        return None
    tolerated = TOLERATED_PARTS.get(action)
    error = next((e for e in validator.iter_errors(payload)
                  if not (tolerated and list(e.absolute_path)[:1] == [tolerated])), None)
    if error is None:
        return None
    details = {"cause": error.message[:200]}
    kind = error.validator
    if kind == "required":
        return OccurenceConstraintViolationError(details=details)
    if kind in ("type", "maxLength"):
        return TypeConstraintViolationError(details=details)
    if kind == "additionalProperties":
        return FormationViolationError(details=details)
    return PropertyConstraintViolationError(details=details)


def unpack_parsed(data: Any) -> Call | CallResult | CallError:
    """The library's `ocpp.messages.unpack` for a frame already decoded (same errors, same classes),
    so a frame is parsed once for the message log and the routing."""
    if not isinstance(data, list):
        raise ProtocolError(details={"cause": f"OCPP message hasn't the correct format. It should be a list, "
                                              f"but got '{type(data)}' instead"})
    for cls in (Call, CallResult, CallError):
        try:
            if data[0] == cls.message_type_id:
                return cls(*data[1:])
        except IndexError:
            raise ProtocolError(details={"cause": "Message does not contain MessageTypeId"}) from None
        except TypeError:
            raise ProtocolError(details={"cause": "Message is missing elements."}) from None
    raise PropertyConstraintViolationError(details={"cause": f"MessageTypeId '{data[0]}' isn't valid"})


def frame_error(raw: str | bytes, exc: OCPPError) -> CallError:
    """The CALLERROR for a frame that could not be unpacked."""
    try:
        data = json.loads(raw)
    except (ValueError, TypeError):
        return CallError("-1", "FormationViolation", "Message is not valid JSON", {})
    uid = data[1] if isinstance(data, list) and len(data) > 1 and isinstance(data[1], str) else "-1"
    return CallError(uid, "ProtocolError", "Message is not a valid OCPP-J RPC frame",
                     {"cause": str(exc.details.get("cause", ""))[:200]})


def refusal(msg: Call, taken: Any, relaxed: bool, identity: str, log: Any) -> OCPPError | None:
    """The CALLERROR for a charger's CALL we do not hand to a handler, or None to route it.

    taken: the actions with a handler; relaxed: the charger's relaxed schema validation."""
    if msg.action not in taken:
        if msg.action in KNOWN_ACTIONS:
            return NotSupportedError(details={"cause": f"{msg.action} is not taken by the central system"})
        return OcppNotImplemented(details={"cause": f"unknown action {str(msg.action)[:40]}"})
    out_of_range = range_error(msg.payload) if isinstance(msg.payload, dict) else None
    if out_of_range is not None:  # never relaxed: the database could not hold it
        return out_of_range
    error = schema_error(msg.action, msg.payload)
    if error is not None and not (relaxed and isinstance(msg.payload, dict)):
        return error
    if error is not None:
        log.info("%s: relaxed validation let a non-conforming %s through (%s)",
                 identity, msg.action, error.details.get("cause"))
    return None
