"""Malformed frames get the right CALLERROR and the connection keeps working; relaxed validation per charger."""
from __future__ import annotations

import json
import logging

import pytest

from tests.factories import make_charge_point, make_site
from tests.integration.ocpp_helpers import ocpp_node, raw_charger, run

BOOT = {"chargePointVendor": "V", "chargePointModel": "M"}


@pytest.fixture
def identity(session):
    cp = make_charge_point(session, make_site(session), "CP-FRAMES-1")
    session.commit()
    return cp.identity


CASES = [
    ("not json at all", "-1", "FormationViolation"),
    ('{"a": 1}', "-1", "ProtocolError"),
    ('[2, "m1"]', "m1", "ProtocolError"),
    ('[2, "m2", "FlyToTheMoon", {}]', "m2", "NotImplemented"),
    ('[2, "m3", "RemoteStartTransaction", {"idTag": "X"}]', "m3", "NotSupported"),
    ('[2, "m4", "BootNotification", {"chargePointVendor": "V"}]', "m4", "OccurenceConstraintViolation"),
    ('[2, "m5", "BootNotification", {"chargePointVendor": 5, "chargePointModel": "M"}]', "m5",
     "TypeConstraintViolation"),
    ('[2, "m6", "BootNotification", {"chargePointVendor": "' + "V" * 30 + '", "chargePointModel": "M"}]', "m6",
     "TypeConstraintViolation"),
    ('[2, "m7", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Dancing"}]', "m7",
     "PropertyConstraintViolation"),
    ('[2, "m8", "Heartbeat", {"extra": true}]', "m8", "FormationViolation"),
    ('[2, "m9", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available", '
     '"timestamp": "yesterday"}]', "m9", "PropertyConstraintViolation"),
    ('[2, "m10", "Heartbeat", []]', "m10", "FormationViolation"),
]


def test_malformed_frames_get_callerror_and_connection_stays_open(db, redis_url, identity):
    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, identity) as raw:
                assert (await raw.call("BootNotification", BOOT))[2]["status"] == "Accepted"
                for frame, uid, code in CASES:
                    reply = await raw.send_raw(frame)
                    assert reply[0] == 4 and reply[1] == uid and reply[2] == code, (frame, reply)
                    assert isinstance(reply[3], str) and isinstance(reply[4], dict)
                    assert (await raw.call("Heartbeat", {}))[0] == 3  # still working

    run(scenario())


def test_relaxed_validation_lets_a_sloppy_charger_through(db, redis_url, session, identity, caplog):
    from sqlalchemy import select

    from portal.models import ChargePoint
    session.scalar(select(ChargePoint).where(ChargePoint.identity == identity)).relaxed_validation = True
    session.commit()
    caplog.set_level(logging.INFO, logger="ocpp_server")

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, identity) as raw:
                boot = {**BOOT, "chargePointVendor": "V" * 30, "vendorSpecialField": 1}
                assert (await raw.call("BootNotification", boot))[2]["status"] == "Accepted"
                status = {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": "garbage"}
                assert (await raw.call("StatusNotification", status))[0] == 3
                reply = await raw.send_raw(json.dumps([2, "u1", "FlyToTheMoon", {}]))
                assert reply[2] == "NotImplemented"

    run(scenario())
    assert "relaxed schema validation is on" in caplog.text
