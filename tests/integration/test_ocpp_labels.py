"""Every OCPP 1.6 status, action, error code and stop reason and every charger type has a label in nb, sv and
en (one catalogue, portal/labels_ocpp.py), and every message type gets a plain line on the staff page."""
from __future__ import annotations

import json

import pytest
from flask_babel import force_locale
from ocpp.v16 import enums

from portal.labels_ocpp import (ACTION, ANSWER_STATUS, CATALOGUE, CHARGER_TYPE, CONNECTOR_STATUS, ERROR_CODE,
                                STOP_REASON)
from portal.services.staff.message_facts import facts
from portal.staff.explain import explanations

ANSWER_ENUMS = ("RegistrationStatus", "AuthorizationStatus", "RemoteStartStopStatus", "UnlockStatus", "ResetStatus",
                "ConfigurationStatus", "AvailabilityStatus", "TriggerMessageStatus", "DiagnosticsStatus",
                "FirmwareStatus", "ClearCacheStatus", "DataTransferStatus", "CancelReservationStatus",
                "ReservationStatus", "ChargingProfileStatus", "ClearChargingProfileStatus",
                "GetCompositeScheduleStatus", "UpdateStatus")


def _codes() -> list[tuple[str, str]]:
    codes = [(a.value, "action") for a in enums.Action]
    codes += [(s.value, "status") for s in enums.ChargePointStatus]
    codes += [(e.value, "error") for e in enums.ChargePointErrorCode]
    codes += [(r.value, "reason") for r in enums.Reason]
    codes += [(v.value, "answer") for name in ANSWER_ENUMS for v in getattr(enums, name)]
    codes += [(t, "cp_type") for t in ("public", "private", "personal")]
    return codes


def test_every_ocpp_code_and_charger_type_is_in_the_catalogue():
    def known(code: str, kind: str) -> bool:
        return code in CATALOGUE[kind] or (kind in ("status", "answer") and (code in ANSWER_STATUS or
                                                                          code in CONNECTOR_STATUS))

    missing = [(code, kind) for code, kind in _codes() if not known(code, kind)]
    assert not missing
    assert set(CONNECTOR_STATUS) == {s.value for s in enums.ChargePointStatus}
    assert {a.value for a in enums.Action} <= set(ACTION) and set(CHARGER_TYPE) == {"public", "private", "personal"}
    assert {e.value for e in enums.ChargePointErrorCode} <= set(ERROR_CODE)
    assert {r.value for r in enums.Reason} <= set(STOP_REASON)


@pytest.mark.parametrize("lang", ["nb", "sv"])
def test_every_label_is_translated(app, lang):
    catalogues = (ACTION, ANSWER_STATUS, CHARGER_TYPE, CONNECTOR_STATUS, ERROR_CODE, STOP_REASON)
    with app.test_request_context(), force_locale(lang):
        untranslated = [lazy._args[0] for table in catalogues for lazy in table.values()
                        if str(lazy) == lazy._args[0]]
    assert not untranslated, untranslated


def _frame(kind: int, payload: dict, action: str | None = None) -> str:
    return json.dumps([2, "u", action, payload] if kind == 2 else [3, "u", payload])


@pytest.mark.parametrize("lang", ["en", "nb", "sv"])
def test_every_message_type_gets_a_plain_line(app, lang):
    with app.test_request_context(), force_locale(lang):
        for action in ACTION:
            assert explanations(facts(_frame(2, {}, action), action)), action
            assert explanations(facts(_frame(3, {}), None, action)), f"answer to {action}"
        assert explanations(facts('[4,"u","NotSupported","nope",{}]', None, "Reset"))
        assert explanations(facts("not json", None))


def test_common_values_in_words(app):
    with app.test_request_context(), force_locale("en"):
        boot = explanations(facts(_frame(3, {"status": "Accepted", "interval": 300,
                                              "currentTime": "2026-12-07T10:00:00Z"}), None, "BootNotification"))
        assert boot == ["The system accepted the charger: a heartbeat every 300 seconds."]
        auth = explanations(facts(_frame(3, {"idTagInfo": {"status": "Blocked"}}), None, "Authorize"))
        assert auth == ["This card is blocked."]
        stop = explanations(facts(_frame(2, {"transactionId": 5, "meterStop": 10240, "reason": "EVDisconnected",
                                             "timestamp": "x"}, "StopTransaction"), "StopTransaction"))
        assert stop == ["Session 5 stopped: the car was unplugged; the meter reads 10.24 kWh."]
        unlock = explanations(facts(_frame(3, {"status": "UnlockFailed"}), None, "UnlockConnector"))
        assert unlock[0] == "Answer to “Unlock the cable”: Could not unlock." and len(unlock) == 2
        paused = explanations(facts(_frame(2, {"connectorId": 2, "status": "SuspendedEVSE", "errorCode": "NoError"},
                                           "StatusNotification"), "StatusNotification"))
        assert paused[0] == "Outlet 2: Paused by the charger." and "holds back power" in paused[1]
        error = explanations(facts('[4,"u","FormationViolation","bad",{}]', None, "Reset"))
        assert error == ["Error answer to “Restart”: Malformed message.",
                         "A malformed message: the charger's firmware may not follow OCPP 1.6."]
    with app.test_request_context(), force_locale("nb"):
        meter = explanations(facts(_frame(2, {"connectorId": 1, "meterValue": [{"timestamp": "x", "sampledValue": [
            {"value": "240", "measurand": "Energy.Active.Import.Register", "unit": "Wh"}]}]}, "MeterValues"),
            "MeterValues"))
        assert "0,24 kWh" in meter[0]
