"""What one logged OCPP frame says, as facts: a code and its raw values, e.g.
("meter", {"connector": 1, "energy_wh": 240, "power_w": 7200}). The page turns them into sentences in the
reader's language (portal/staff/explain.py); nothing here is worded or translated."""
from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

Fact = tuple[str, dict[str, Any]]
ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"


def parse(frame: str) -> tuple[int | None, dict]:
    """(message type, payload) of a frame; a CALLERROR's payload holds its errorCode and errorDescription."""
    try:
        data = json.loads(frame)
    except (ValueError, TypeError):
        return None, {}
    if not isinstance(data, list) or not data or not isinstance(data[0], int):
        return None, {}
    kind = data[0]
    if kind == 4:
        return kind, {"errorCode": data[2] if len(data) > 2 else None,
                      "errorDescription": data[3] if len(data) > 3 else ""}
    payload = data[3] if kind == 2 and len(data) > 3 else data[2] if kind == 3 and len(data) > 2 else {}
    return kind, payload if isinstance(payload, dict) else {}


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _meter(payload: dict) -> tuple[int | None, int | None]:
    """(energy register in Wh, power in W) of the newest sample of a MeterValues call (whole charger)."""
    energy = power = None
    for sample in (payload.get("meterValue") or [])[-1:]:
        for value in (sample.get("sampledValue") or []) if isinstance(sample, dict) else []:
            if not isinstance(value, dict) or value.get("phase"):
                continue
            number = _number(value.get("value"))
            unit = value.get("unit") or ""
            measurand = value.get("measurand") or ENERGY
            if number is None:
                continue
            if measurand == ENERGY:
                energy = int(number * 1000) if unit == "kWh" else int(number)
            elif measurand == POWER:
                power = int(number * 1000) if unit == "kW" else int(number)
    return energy, power


def _status(p: dict) -> list[Fact]:
    facts: list[Fact] = [("outlet_status", {"connector": p.get("connectorId"), "status": p.get("status")}),
                         (f"status:{p.get('status')}", {})]
    if p.get("errorCode") not in (None, "NoError"):
        facts += [("outlet_error", {"error": p.get("errorCode"), "vendor": p.get("vendorErrorCode") or ""}),
                  (f"error:{p.get('errorCode')}", {})]
    return facts


def _meter_values(p: dict) -> list[Fact]:
    energy, power = _meter(p)
    return [("meter", {"connector": p.get("connectorId"), "energy_wh": energy, "power_w": power})]


def _start(p: dict) -> list[Fact]:
    return [("start", {"connector": p.get("connectorId"), "energy_wh": _number(p.get("meterStart"))})]


def _stop(p: dict) -> list[Fact]:
    return [("stop", {"id": p.get("transactionId"), "reason": p.get("reason") or "Local",
                      "energy_wh": _number(p.get("meterStop"))})]


def _one_of(code: str, value: Any, known: tuple[str, ...], action: str, params: dict, other: str = "call") -> Fact:
    """code:value when the value is one OCPP allows, else the plain fact about the action."""
    return (f"{code}:{value}", params) if value in known else (other, {"action": action})


CALLS: dict[str, Callable[[dict], list[Fact]]] = {
    "Heartbeat": lambda p: [("heartbeat", {})],
    "BootNotification": lambda p: [("boot", {"vendor": p.get("chargePointVendor") or "–",
                                             "model": p.get("chargePointModel") or "–",
                                             "firmware": p.get("firmwareVersion") or "–"})],
    "Authorize": lambda p: [("authorize", {})],
    "StartTransaction": _start,
    "StopTransaction": _stop,
    "StatusNotification": _status,
    "MeterValues": _meter_values,
    "DataTransfer": lambda p: [("data_transfer", {"vendor": p.get("vendorId") or "–"})],
    "DiagnosticsStatusNotification": lambda p: [("diagnostics", {"status": p.get("status")})],
    "FirmwareStatusNotification": lambda p: [("firmware", {"status": p.get("status")})],
    "RemoteStartTransaction": lambda p: [("remote_start", {"connector": p.get("connectorId") or "–"})],
    "RemoteStopTransaction": lambda p: [("remote_stop", {"id": p.get("transactionId")})],
    "UnlockConnector": lambda p: [("unlock", {"connector": p.get("connectorId")})],
    "Reset": lambda p: [_one_of("reset", p.get("type"), ("Soft", "Hard"), "Reset", {})],
    "ChangeAvailability": lambda p: [_one_of("availability", p.get("type"), ("Operative", "Inoperative"),
                                             "ChangeAvailability", {"connector": p.get("connectorId")})],
    "ChangeConfiguration": lambda p: [("change_config", {"key": p.get("key") or "–"})],
    "GetConfiguration": lambda p: [("get_config", {})],
    "TriggerMessage": lambda p: [("trigger", {"message": p.get("requestedMessage")})],
}


def _tag(p: dict) -> list[Fact]:
    info = p.get("idTagInfo") if isinstance(p.get("idTagInfo"), dict) else {}
    return [(f"idtag:{info.get('status')}", {})] if info.get("status") else []


ANSWERS: dict[str, Callable[[dict], list[Fact]]] = {
    "BootNotification": lambda p: [_one_of("boot_answer", p.get("status"), ("Accepted", "Pending", "Rejected"),
                                           "BootNotification", {"interval": p.get("interval")}, "received")],
    "Heartbeat": lambda p: [("heartbeat_answer", {})],
    "Authorize": _tag,
    "StartTransaction": lambda p: [("start_answer", {"id": p.get("transactionId")})] + _tag(p),
    "StopTransaction": lambda p: [("stop_answer", {})] + _tag(p),
    "GetConfiguration": lambda p: [("config_answer", {"count": len(p.get("configurationKey") or [])})],
}


def _answer(action: str, payload: dict) -> list[Fact]:
    found = ANSWERS[action](payload) if action in ANSWERS else []
    if found:
        return found
    if isinstance(payload.get("status"), str):
        return [("answer", {"action": action or "–", "status": payload["status"]}),
                (f"result:{action}:{payload['status']}", {})]
    return [("received", {"action": action})] if action else [("answer_unknown", {})]


def facts(frame: str, action: str | None, answered: str = "") -> list[Fact]:
    """The facts of one frame: `action` is the call's own name, `answered` the name of the call a reply answers."""
    kind, payload = parse(frame)
    if kind == 4:
        code = "callerror" if answered else "callerror_alone"
        return [(code, {"code": payload.get("errorCode"), "action": answered}),
                (f"callerror:{payload.get('errorCode')}", {})]
    if kind == 3:
        return _answer(answered, payload)
    if kind == 2 and action:
        return CALLS.get(action, lambda p: [("call", {"action": action})])(payload)
    return [("unreadable", {})]
