"""Pure pieces of the OCPP server: time format, energy sanity, schema error mapping, message-log helpers."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from ocpp.exceptions import ProtocolError

from ocpp_server.msglog import describe, describe_parsed, redact
from ocpp_server.server import identity_from_path
from ocpp_server.v16 import frame_error, schema_error
from portal.services.charging.metering import session_energy
from portal.services.ocpp_ingest import format_time, parse_time, start_key, stop_key

T0 = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)


def test_times_parse_to_utc_and_are_sent_with_an_offset():
    assert parse_time("2026-01-10T13:00:00+01:00") == T0
    assert parse_time("2026-01-10T12:00:00Z") == T0
    assert parse_time("2026-01-10T12:00:00") == T0  # no offset: read as UTC
    assert format_time(T0) == "2026-01-10T12:00:00.000+00:00"
    with pytest.raises(ValueError):
        parse_time("yesterday")


def test_dedupe_keys_depend_on_content_not_on_text_form():
    a = start_key("CP", 1, "TAG", 100, parse_time("2026-01-10T12:00:00Z"))
    assert a == start_key("CP", 1, "TAG", 100, parse_time("2026-01-10T13:00:00+01:00"))
    assert a != start_key("CP", 2, "TAG", 100, T0)
    assert stop_key("CP", 5, 200, T0) != stop_key("CP", 5, 201, T0)


def _tx(start_wh: int, minutes: int = 60):
    return SimpleNamespace(meter_start_wh=start_wh, started_at=T0), T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize("start, stop, readings, wh, flagged", [
    (1_000_000, 1_011_000, [], 11_000, False),
    (0, 11_000, [], 11_000, False),                          # zero start flagged at start, sane energy billed
    (0, 45_000_000, [], 0, True),                            # absolute register: not billed
    (0, 45_011_000, [45_000_000, 45_005_000], 11_000, True),  # measured from the first sample
    (5_000, 4_000, [], 0, True),                             # backwards
    (1_000_000, 9_000_000, [], 0, True),                     # 8 MWh in an hour
    (1_000_000, 1_300_000, [], 0, True),                     # 300 kWh > any battery
])
def test_session_energy_sanity(start, stop, readings, wh, flagged):
    tx, stopped = _tx(start)
    samples = [(T0 + timedelta(minutes=i), r) for i, r in enumerate(readings)]
    energy = session_energy(tx, stop, stopped, samples)
    assert energy.wh == wh and bool(energy.flags) == flagged and energy.billable == (wh > 0 or not flagged)


@pytest.mark.parametrize("payload, code", [
    ({"chargePointVendor": "V"}, "OccurenceConstraintViolation"),
    ({"chargePointVendor": 1, "chargePointModel": "M"}, "TypeConstraintViolation"),
    ({"chargePointVendor": "V", "chargePointModel": "M", "x": 1}, "FormationViolation"),
    ([], "FormationViolation"),
])
def test_schema_errors_use_ocpp16_codes(payload, code):
    assert schema_error("BootNotification", payload).code == code
    assert schema_error("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}) is None


def test_frame_errors():
    bad_json = json.loads(frame_error("{nope", ProtocolError()).to_json())
    assert bad_json[:3] == [4, "-1", "FormationViolation"]
    assert json.loads(frame_error('[2, "abc"]', ProtocolError()).to_json())[:3] == [4, "abc", "ProtocolError"]


def test_message_log_helpers():
    assert describe('[2,"u1","Heartbeat",{}]') == (2, "u1", "Heartbeat")
    assert describe('[3,"u1",{}]') == (3, "u1", None)
    assert describe("garbage") == (None, None, None)
    frame = '[2,"u2","ChangeConfiguration",{"key":"AuthorizationKey","value":"s3cret-key-value"}]'
    assert "s3cret" not in redact(frame) and "AuthorizationKey" in redact(frame)


def test_identity_from_path():
    assert identity_from_path("/ocpp/CP-1") == "CP-1"
    assert identity_from_path("/ocpp/CP%201/") == "CP 1"
    assert identity_from_path("/ocpp/CP-1?x=1") == "CP-1"
    assert identity_from_path("/other/CP-1") is None and identity_from_path("/ocpp/") is None


@pytest.mark.parametrize("frame", [
    '[2,"u1","Heartbeat",{}]', '[3,"u1",{"currentTime":"2026-01-01T00:00:00Z"}]', '[4,"u9","GenericError","x",{}]',
    '[2,"u\\"q","Heartbeat",{}]', '[2,"' + "x" * 80 + '","Heartbeat",{}]', '[2,"u1","Heart beat",{}]',
    '[2,"u1"]', '[5,"u1",{}]', '{"a":1}', '[]', 'garbage', '[2,"u1","Heartbeat",{nope',
])
def test_describe_reads_what_json_reads(frame):
    """The pattern for compact frames and the parsed form agree with decoding the frame (the node parses
    each incoming frame once and passes the result to the message log)."""
    try:
        parsed = json.loads(frame)
    except ValueError:
        parsed = None
    assert describe(frame, parsed) == describe_parsed(parsed)
    if parsed is not None:
        assert describe(frame) == describe_parsed(parsed)


def test_unpack_parsed_matches_the_library():
    from ocpp.messages import unpack

    from ocpp_server.v16 import unpack_parsed

    for frame in ('[2,"u1","Heartbeat",{}]', '[3,"u1",{}]', '[4,"u1","GenericError","d",{}]'):
        assert vars(unpack_parsed(json.loads(frame))) == vars(unpack(frame))
    for frame in ('{"a":1}', '[]', '[2,"u1"]', '[7,"u1",{}]'):
        with pytest.raises(Exception) as ours:
            unpack_parsed(json.loads(frame))
        with pytest.raises(Exception) as theirs:
            unpack(frame)
        assert type(ours.value) is type(theirs.value)


def test_a_central_charge_point_is_built_by_the_library_constructor():
    """CentralChargePoint goes through the library's __init__ (public) and its handlers skip the library's
    schema validation through @on(..., skip_schema_validation=True): ocpp_server.frames checks first."""
    import asyncio

    from ocpp.routing import create_route_map
    from ocpp.v16 import ChargePoint

    from ocpp_server.v16 import CentralChargePoint
    from portal.services.ocpp_ingest import ConnectInfo

    async def build():
        library = ChargePoint("CP-1", connection=None)
        ours = CentralChargePoint("CP-1", None, node=None, info=ConnectInfo(
            identity="CP-1", enabled=True, relaxed_validation=False, boot_status="Accepted", heartbeat_interval=60))
        return library, ours

    library, ours = asyncio.run(build())
    assert set(vars(library)) <= set(vars(ours))
    assert set(ours.route_map) == set(create_route_map(ours))
    assert all(route["_skip_schema_validation"] is True for route in ours.route_map.values())
    assert ours.route_map["Heartbeat"]["_on_action"].__self__ is ours


def test_the_adapter_refuses_a_library_version_it_was_not_checked_against():
    from ocpp_server.ocpp_adapter import PINNED, LibraryVersionMismatch, check_versions

    check_versions()  # the installed versions are the pinned ones
    check_versions(lambda name: PINNED[name])
    with pytest.raises(LibraryVersionMismatch, match="ocpp 9.9"):
        check_versions(lambda name: "9.9" if name == "ocpp" else PINNED[name])


def test_secret_verifications_are_bounded_and_batched():
    import asyncio

    from ocpp_server.auth import VerifiedSecrets
    from portal.services.people.secrets import hash_charger_secret

    right = hash_charger_secret("right-secret-000000001")

    async def storm():
        secrets = VerifiedSecrets(concurrency=2)
        results = await asyncio.gather(*(secrets.check(f"CP-{i}", right, "right-secret-000000001" if i % 3 else "wrong")
                                         for i in range(30)))
        again = await secrets.check("CP-1", right, "right-secret-000000001")  # remembered: no new verification
        return results, secrets.verifications, secrets.most_at_once, again

    results, verifications, most_at_once, again = asyncio.run(storm())
    assert results == [bool(i % 3) for i in range(30)]
    assert verifications == 30
    assert 1 <= most_at_once <= 2
    assert again is True
