"""Fuzz a live node (hypothesis): malformed, oversized-field and out-of-order frames from one charger.

Every CALL gets exactly one answer with its unique id (a CALLRESULT or a CALLERROR with an OCPP-J
code, never InternalError), frames that are not calls get none or a CALLERROR, the connection stays
open, another charger on the same node keeps being answered, and the database holds nothing it
should not: no billable session from unknown tags, no meter value that is not a finite sane number.
"""
from __future__ import annotations

import asyncio
import json
import math
import threading
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from websockets.sync.client import connect

from portal.models import ChargePoint, MeterValue, Transaction
from tests.factories import CHARGER_SECRET, make_charge_point, make_site
from tests.integration.ocpp_helpers import basic, ocpp_node

EXAMPLES = 1500
CALLERROR_CODES = {"FormationViolation", "ProtocolError", "NotImplemented", "NotSupported",
                   "OccurenceConstraintViolation", "TypeConstraintViolation", "PropertyConstraintViolation",
                   "GenericError", "SecurityError"}
ACTIONS = ["BootNotification", "Heartbeat", "StatusNotification", "Authorize", "StartTransaction",
           "StopTransaction", "MeterValues", "DataTransfer", "DiagnosticsStatusNotification",
           "FirmwareStatusNotification", "RemoteStartTransaction", "Reset", "FlyToTheMoon", ""]


class LiveNode:
    """A node serving in its own thread and event loop, so synchronous hypothesis examples can use it."""

    def __init__(self, db, redis_url) -> None:
        self.db, self.redis_url = db, redis_url
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self.stop_event = asyncio.Event()
        async with ocpp_node(self.db, self.redis_url) as node:
            self.node = node
            self.ready.set()
            await self.stop_event.wait()

    def __enter__(self) -> "LiveNode":
        self.thread.start()
        assert self.ready.wait(20)
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(30)


scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
                    st.sampled_from(["NaN", "Infinity", "-1e400", "", "2026-13-45T99:00:00Z", "\x00",
                                     "2026-01-01T00:00:00Z", "9" * 40]))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=12)
sampled = st.fixed_dictionaries({"value": st.one_of(scalars, st.just("123.5"))},
                                optional={"measurand": st.one_of(st.just("Energy.Active.Import.Register"), scalars),
                                          "unit": st.one_of(st.just("kWh"), scalars), "context": scalars})
meter_entries = st.lists(st.fixed_dictionaries(
    {"timestamp": st.one_of(st.just("2026-01-01T00:00:00Z"), scalars),
     "sampledValue": st.one_of(st.lists(sampled, max_size=3), scalars)}), max_size=3)
payloads = st.one_of(
    json_values,
    st.fixed_dictionaries({"connectorId": st.one_of(st.integers(-3, 3), scalars), "idTag": scalars,
                           "meterStart": st.one_of(st.integers(-10, 10**12), scalars),
                           "timestamp": scalars}),
    st.fixed_dictionaries({"connectorId": st.integers(0, 2), "transactionId": st.one_of(st.integers(), scalars),
                           "meterValue": st.one_of(meter_entries, scalars)}),
    st.fixed_dictionaries({"transactionId": st.one_of(st.integers(-(2**40), 2**40), scalars),
                           "meterStop": st.one_of(st.integers(), scalars), "timestamp": scalars},
                          optional={"transactionData": st.one_of(meter_entries, scalars), "reason": scalars,
                                    "idTag": scalars}),
    st.fixed_dictionaries({"connectorId": st.integers(0, 2), "errorCode": st.sampled_from(["NoError", "Bad"]),
                           "status": st.sampled_from(["Available", "Charging", "Dancing"])},
                          optional={"timestamp": scalars, "info": st.text(max_size=80)}),
)
calls = st.tuples(st.just(2), st.text(min_size=1, max_size=40), st.sampled_from(ACTIONS), payloads)
frames = st.one_of(
    calls.map(list),
    st.lists(json_values, max_size=6),  # arrays that are not RPC frames
    st.tuples(st.sampled_from([3, 4]), st.text(max_size=10), json_values).map(list),  # answers to nothing
    json_values,
    st.text(max_size=200),  # not JSON at all
    st.tuples(st.just(2), st.text(min_size=1, max_size=10), st.just("DataTransfer"),
              st.fixed_dictionaries({"vendorId": st.just("v"), "data": st.builds(
                  lambda ch, n: ch * n, st.sampled_from("abc"), st.integers(10_000, 200_000))})
              ).map(list),  # big but under the frame cap
)


def _encode(frame) -> str:
    return frame if isinstance(frame, str) else json.dumps(frame)


@pytest.fixture
def identities(session):
    site = make_site(session)
    fuzz = make_charge_point(session, site, "CP-FUZZ", connectors=2, online=False)
    other = make_charge_point(session, site, "CP-BYSTANDER", online=False)
    session.commit()
    return fuzz.identity, other.identity


def test_fuzzed_frames_get_the_right_answer_and_harm_nobody(db, redis_url, identities, monkeypatch):
    monkeypatch.setenv("OCPP_MAX_MESSAGES_PER_S", "0")
    fuzz_id, other_id = identities
    counter = {"n": 0}
    with LiveNode(db, redis_url) as live:
        url = live.node.url
        with connect(f"{url}/{fuzz_id}", subprotocols=["ocpp1.6"], additional_headers=basic(fuzz_id, CHARGER_SECRET),
                     max_size=None) as fuzz, \
                connect(f"{url}/{other_id}", subprotocols=["ocpp1.6"],
                        additional_headers=basic(other_id, CHARGER_SECRET)) as other:

            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                             HealthCheck.data_too_large, HealthCheck.large_base_example])
            @given(frame=frames)
            @example(frame=[2, "big1", "StartTransaction", {"connectorId": 2**70, "idTag": "x", "meterStart": 5,
                                                            "timestamp": "2026-01-01T00:00:00Z"}])
            @example(frame=[2, "big2", "StartTransaction", {"connectorId": 1, "idTag": "x", "meterStart": 2**70,
                                                            "timestamp": "2026-01-01T00:00:00Z"}])
            @example(frame=[2, "big3", "StopTransaction", {"transactionId": 2**70, "meterStop": 2**70,
                                                           "timestamp": "2026-01-01T00:00:00Z"}])
            @example(frame=[2, "big4", "StatusNotification", {"connectorId": 2**40, "errorCode": "NoError",
                                                              "status": "Available"}])
            @example(frame=[2, "big5", "MeterValues", {"connectorId": 2**40, "transactionId": 2**70, "meterValue": [
                {"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [{"value": "1"}]}]}])
            @example(frame=[2, "neg", "MeterValues", {"connectorId": -1, "meterValue": []}])
            def one_frame(frame) -> None:
                counter["n"] += 1
                probe = f"probe-{counter['n']}"
                fuzz.send(_encode(frame))
                fuzz.send(json.dumps([2, probe, "Heartbeat", {}]))
                replies = []
                while True:
                    reply = json.loads(fuzz.recv(timeout=10))
                    if reply[0] == 2:  # the node calling the charger (e.g. after a boot): answer it
                        fuzz.send(json.dumps([3, reply[1], {"status": "Accepted"}]))
                        continue
                    if reply[1] == probe:
                        assert reply[0] == 3
                        break
                    replies.append(reply)
                is_call = isinstance(frame, list) and len(frame) == 4 and frame[0] == 2 \
                    and isinstance(frame[1], str) and isinstance(frame[2], str)
                if is_call:
                    assert len(replies) == 1 and replies[0][1] == frame[1], (frame, replies)
                assert len(replies) <= 1, (frame, replies)
                for reply in replies:
                    assert reply[0] in (3, 4), (frame, reply)
                    if reply[0] == 4:
                        assert reply[2] in CALLERROR_CODES, (frame, reply)
                if counter["n"] % 50 == 0:
                    other.send(json.dumps([2, f"o{counter['n']}", "Heartbeat", {}]))
                    assert json.loads(other.recv(timeout=10))[0] == 3

            one_frame()
    assert counter["n"] >= EXAMPLES // 2
    with db.session() as s:
        fuzz_cp = s.scalar(select(ChargePoint.id).where(ChargePoint.identity == fuzz_id))
        assert s.scalar(select(Transaction.id).where(Transaction.billable.is_(True))) is None
        assert s.scalar(select(Transaction.id).where(Transaction.charge_point_id != fuzz_cp)) is None
        for value in s.scalars(select(MeterValue.value)):
            assert math.isfinite(float(value)) and abs(Decimal(value)) < Decimal(10) ** 12
