"""Authorize, start, meter values, stop over real sockets: billing, duplicates, unknown transactions, sanity."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from ocpp.v16 import call
from portal.models import IdTag, MeterValue, OcppMessage, OrphanStop, Transaction
from portal.services.sites.onboarding import virtual_tag
from tests.factories import make_user, resident_with_access
from tests.integration.ocpp_helpers import eventually, ocpp_node, query, raw_charger, run, simulator


@pytest.fixture
def setup(session):
    site, user, cp = resident_with_access(session, fee="2.50")
    cp.heartbeat_interval = 60
    tag = virtual_tag(session, user).tag
    outsider = make_user(session)  # no site access, no subscription
    stranger_tag = virtual_tag(session, outsider).tag
    session.add(IdTag(tag="RFID-BLOCKED", user_id=user.id, blocked=True))
    session.commit()
    return {"identity": cp.identity, "tag": tag, "stranger": stranger_tag, "user_id": user.id}


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _ore(wh: int, fee_ore_per_kwh: int = 250) -> int:
    """Expected cost in øre, rounded half up like the pricing rules."""
    return (wh * fee_ore_per_kwh + 500) // 1000


def test_authorize_answers_per_tag(db, redis_url, setup):
    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                answers = {}
                for tag in (setup["tag"], setup["stranger"], "RFID-BLOCKED", "NO-SUCH-TAG"):
                    answers[tag] = (await raw.call("Authorize", {"idTag": tag}))[2]["idTagInfo"]["status"]
                return answers

    answers = run(scenario())
    assert answers == {setup["tag"]: "Accepted", setup["stranger"]: "Invalid", "RFID-BLOCKED": "Blocked",
                       "NO-SUCH-TAG": "Invalid"}


def test_remote_start_meter_values_and_remote_stop_bill_once(db, redis_url, setup):
    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, setup["identity"], power_w=36_000) as sim:
                cp = node.connections[setup["identity"]]
                result = await cp.call(call.RemoteStartTransaction(id_tag=setup["tag"], connector_id=1))
                assert result.status == "Accepted"
                tx = await eventually(db, lambda s: s.scalar(select(Transaction).where(Transaction.status == "active")))
                assert tx.user_id == setup["user_id"] and tx.tariff_name == "Residents"
                await eventually(db, lambda s: (t := s.get(Transaction, tx.id)).meter_last_wh
                                 and t.meter_last_wh > t.meter_start_wh)
                samples = await query(db, lambda s: s.scalars(select(MeterValue.measurand).where(
                    MeterValue.transaction_id == tx.id)).all())
                assert {"Energy.Active.Import.Register", "Power.Active.Import", "Current.Import"} <= set(samples)
                result = await cp.call(call.RemoteStopTransaction(transaction_id=tx.id))
                assert result.status == "Accepted"
                done = await eventually(db, lambda s: (t := s.get(Transaction, tx.id)).status == "completed" and t)
                assert sim.outlets[1].transaction_id is None
                return done

    tx = run(scenario())
    with db.session() as s:  # once: one session for the one start and stop, nothing left over to bill again
        assert s.scalars(select(Transaction.id)).all() == [tx.id]
        assert s.scalars(select(OrphanStop.id)).all() == []
        received = s.scalars(select(OcppMessage.action).where(
            OcppMessage.identity == setup["identity"], OcppMessage.direction == "in",
            OcppMessage.action.in_(("StartTransaction", "StopTransaction")))).all()
    assert sorted(received) == ["StartTransaction", "StopTransaction"]
    assert tx.stop_reason == "Remote" and tx.meter_flags == []
    assert tx.energy_wh == tx.meter_stop_wh - tx.meter_start_wh > 0
    assert tx.cost_minor == _ore(tx.energy_wh) and tx.vat_minor == (tx.cost_minor * 20 + 50) // 100


def test_refused_tag_gets_a_transaction_that_is_never_billed(db, redis_url, setup):
    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, setup["identity"]) as sim:
                assert await sim.start_transaction(1, setup["stranger"]) is None  # the simulator stops at once
                return await eventually(db, lambda s: s.scalar(select(Transaction).where(
                    Transaction.id_tag == setup["stranger"], Transaction.stop_key.is_not(None))))

    tx = run(scenario())
    assert tx.status == "completed" and tx.cost_minor == 0 and tx.access_decision == "no_access"
    assert not tx.billable


def test_duplicate_start_and_stop_are_idempotent(db, redis_url, setup):
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=30)
    start = {"connectorId": 1, "idTag": setup["tag"], "meterStart": 1_000_000, "timestamp": _iso(t0)}

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                first = await raw.call("StartTransaction", start)
                again = await raw.call("StartTransaction", start)
                assert first[2]["transactionId"] == again[2]["transactionId"]
                assert first[2]["idTagInfo"]["status"] == again[2]["idTagInfo"]["status"] == "Accepted"
                tx_id = first[2]["transactionId"]
                stop = {"transactionId": tx_id, "meterStop": 1_005_500, "timestamp": _iso(t0 + timedelta(minutes=29)),
                        "reason": "EVDisconnected"}
                one, two = await raw.call("StopTransaction", stop), await raw.call("StopTransaction", stop)
                assert one[0] == two[0] == 3
                return tx_id

    tx_id = run(scenario())
    with db.session() as s:
        assert s.scalar(select(Transaction.id).where(Transaction.id != tx_id)) is None
        tx = s.get(Transaction, tx_id)
        assert tx.energy_wh == 5_500 and tx.cost_minor == 1375
        assert s.scalar(select(OrphanStop.id)) is None


def test_stop_for_unknown_transaction_is_accepted_and_recorded(db, redis_url, setup):
    stop = {"transactionId": 987654, "meterStop": 2_000, "timestamp": _iso(datetime.now(timezone.utc)),
            "idTag": setup["tag"]}

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                replies = [await raw.call("StopTransaction", stop) for _ in range(2)]
                assert [r[0] for r in replies] == [3, 3]
                assert replies[0][2]["idTagInfo"]["status"] == "Accepted"

    run(scenario())
    with db.session() as s:
        orphans = s.scalars(select(OrphanStop)).all()
        assert len(orphans) == 1 and orphans[0].transaction_id == 987654 and orphans[0].meter_stop_wh == 2_000


@pytest.mark.parametrize("meter_start, samples, meter_stop, expect_wh", [
    (0, [], 45_678_900, 0),                                     # absolute register after a zero start: not billed
    (0, [45_670_000, 45_674_000], 45_678_900, 8_900),           # ... unless the samples tell the real energy
    (2_000_000, [], 1_000, 0),                                  # register went backwards
    (2_000_000, [], 9_000_000, 0),                              # thousands of kWh in half an hour
])
def test_meter_sanity(db, redis_url, setup, meter_start, samples, meter_stop, expect_wh):
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=30)

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                reply = await raw.call("StartTransaction", {"connectorId": 1, "idTag": setup["tag"],
                                                            "meterStart": meter_start, "timestamp": _iso(t0)})
                tx_id = reply[2]["transactionId"]
                for i, wh in enumerate(samples):
                    await raw.call("MeterValues", {"connectorId": 1, "transactionId": tx_id, "meterValue": [
                        {"timestamp": _iso(t0 + timedelta(minutes=i + 1)), "sampledValue": [{"value": str(wh)}]}]})
                await raw.call("StopTransaction", {"transactionId": tx_id, "meterStop": meter_stop,
                                                   "timestamp": _iso(t0 + timedelta(minutes=30))})
                return tx_id

    tx_id = run(scenario())
    with db.session() as s:
        tx = s.get(Transaction, tx_id)
        assert tx.status == "completed" and tx.energy_wh == expect_wh and tx.meter_flags
        assert tx.cost_minor == _ore(expect_wh)


def test_backwards_register_during_session_is_flagged(db, redis_url, setup):
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=10)

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                reply = await raw.call("StartTransaction", {"connectorId": 1, "idTag": setup["tag"],
                                                            "meterStart": 500_000, "timestamp": _iso(t0)})
                tx_id = reply[2]["transactionId"]
                for i, wh in enumerate((501_000, 400_000)):
                    await raw.call("MeterValues", {"connectorId": 1, "transactionId": tx_id, "meterValue": [
                        {"timestamp": _iso(t0 + timedelta(minutes=i + 1)), "sampledValue": [{"value": str(wh)}]}]})
                return tx_id

    tx_id = run(scenario())
    with db.session() as s:
        tx = s.get(Transaction, tx_id)
        assert tx.meter_last_wh == 501_000 and "register_backwards" in tx.flag_codes


def test_offline_queue_in_timestamp_order(db, redis_url, setup):
    """A charger back from offline sends its queue: old status never overwrites a newer one; session billed."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    t0 = now - timedelta(hours=2)

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                await raw.call("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available",
                                                      "timestamp": _iso(now)})
                await raw.call("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging",
                                                      "timestamp": _iso(t0)})
                start = await raw.call("StartTransaction", {"connectorId": 1, "idTag": setup["tag"],
                                                            "meterStart": 10_000, "timestamp": _iso(t0)})
                tx_id = start[2]["transactionId"]
                await raw.call("MeterValues", {"connectorId": 1, "transactionId": tx_id, "meterValue": [
                    {"timestamp": _iso(t0 + timedelta(minutes=30)), "sampledValue": [{"value": "15000"}]}]})
                await raw.call("StopTransaction", {"transactionId": tx_id, "meterStop": 20_000,
                                                   "timestamp": _iso(t0 + timedelta(hours=1))})
                return tx_id

    tx_id = run(scenario())
    with db.session() as s:
        tx = s.get(Transaction, tx_id)
        assert tx.started_at == t0 and tx.energy_wh == 10_000 and tx.cost_minor == 2500
        from portal.models import ChargePoint
        cp = s.scalar(select(ChargePoint).where(ChargePoint.identity == setup["identity"]))
        assert cp.connector(1).status == "Available"


def test_session_without_stop_is_closed_when_the_next_starts_and_a_late_stop_still_counts(db, redis_url, setup):
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=3)

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                first = (await raw.call("StartTransaction", {"connectorId": 1, "idTag": setup["tag"],
                                                             "meterStart": 100_000, "timestamp": _iso(t0)}))[2]
                await raw.call("MeterValues", {"connectorId": 1, "transactionId": first["transactionId"], "meterValue": [
                    {"timestamp": _iso(t0 + timedelta(minutes=30)), "sampledValue": [{"value": "104000"}]}]})
                await raw.call("StartTransaction", {"connectorId": 1, "idTag": setup["tag"], "meterStart": 106_000,
                                                    "timestamp": _iso(t0 + timedelta(hours=2))})
                closed = await query(db, lambda s: s.get(Transaction, first["transactionId"]))
                assert closed.status == "completed" and closed.energy_wh == 4_000 and "no_stop_received" in \
                    closed.flag_codes
                await raw.call("StopTransaction", {"transactionId": first["transactionId"], "meterStop": 105_000,
                                                   "timestamp": _iso(t0 + timedelta(hours=1))})
                return first["transactionId"]

    tx_id = run(scenario())
    with db.session() as s:
        tx = s.get(Transaction, tx_id)
        assert tx.energy_wh == 5_000 and tx.cost_minor == _ore(5_000) and tx.stop_reason == "Local"
        assert s.scalar(select(OrphanStop.id)) is None
