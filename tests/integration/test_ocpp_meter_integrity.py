"""Meter data as real chargers send it: replayed readings, notes that pile up, NaN and friends, duplicates.

Each test drives a live node over a real WebSocket and checks what the database holds afterwards.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from portal.models import ChargePoint, IdTag, MeterValue, OrphanStop, Transaction
from portal.services.sites.onboarding import virtual_tag
from tests.factories import make_user, resident_with_access
from tests.integration.ocpp_helpers import ocpp_node, raw_charger, run


@pytest.fixture
def setup(session):
    site, user, cp = resident_with_access(session, fee="2.50")
    tag = virtual_tag(session, user).tag
    stranger = virtual_tag(session, make_user(session)).tag
    session.add(IdTag(tag="RFID-BLOCKED", user_id=user.id, blocked=True))
    session.commit()
    return {"identity": cp.identity, "tag": tag, "stranger": stranger, "user_id": user.id}


def iso(moment: datetime) -> str:
    return moment.isoformat()


def ore(wh: int) -> int:
    return (wh * 250 + 500) // 1000


def sample(value, **extra) -> dict:
    return {"value": value, **extra}


def reading(at: datetime, *samples: dict) -> dict:
    return {"timestamp": iso(at), "sampledValue": list(samples)}


async def start(raw, tag: str, meter_start: int, at: datetime, connector: int = 1) -> int:
    reply = await raw.call("StartTransaction", {"connectorId": connector, "idTag": tag,
                                                "meterStart": meter_start, "timestamp": iso(at)})
    assert reply[0] == 3, reply
    return reply[2]["transactionId"]


def cp_row(s, identity: str) -> ChargePoint:
    return s.scalar(select(ChargePoint).where(ChargePoint.identity == identity))


def test_stop_replaying_earlier_readings_closes_at_its_end_reading_without_a_backwards_note(db, redis_url, setup):
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=30)

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                tx_id = await start(raw, setup["tag"], 10_000, t0)
                for minute, wh in ((10, "12000"), (20, "14000")):
                    reply = await raw.call("MeterValues", {"connectorId": 1, "transactionId": tx_id, "meterValue": [
                        reading(t0 + timedelta(minutes=minute), sample(wh, context="Sample.Periodic"))]})
                    assert reply[0] == 3
                stop = await raw.call("StopTransaction", {
                    "transactionId": tx_id, "meterStop": 15_000, "timestamp": iso(t0 + timedelta(minutes=30)),
                    "reason": "EVDisconnected", "transactionData": [
                        reading(t0, sample("10000", context="Transaction.Begin")),
                        reading(t0 + timedelta(minutes=10), sample("12000", context="Sample.Periodic")),
                        reading(t0 + timedelta(minutes=30), sample("15000", context="Transaction.End")),
                    ]})
                return tx_id, stop

    tx_id, stop = run(scenario())
    assert stop[0] == 3, stop
    with db.session() as s:
        tx = s.get(Transaction, tx_id)
        assert tx.status == "completed" and tx.meter_stop_wh == 15_000 and tx.energy_wh == 5_000
        assert tx.cost_minor == ore(5_000)
        assert "register_backwards" not in tx.flag_codes and tx.meter_flags == []
        # the periodic 12000 sent twice (MeterValues and transactionData) is stored once
        stored = s.scalars(select(MeterValue.value).where(MeterValue.transaction_id == tx_id)
                           .order_by(MeterValue.timestamp)).all()
        assert [int(v) for v in stored] == [10_000, 12_000, 14_000, 15_000]


def test_many_meter_notes_never_make_the_stop_fail(db, redis_url, setup):
    """Each backwards reading is a note; a session with many notes still closes (no text column to overflow)."""
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=60)

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                tx_id = await start(raw, setup["tag"], 0, t0)  # a zero start is a note too
                readings = [reading(t0 + timedelta(minutes=i + 1), sample(str(50_000 - i * 1_000)))
                            for i in range(30)]
                reply = await raw.call("MeterValues", {"connectorId": 1, "transactionId": tx_id,
                                                       "meterValue": readings})
                assert reply[0] == 3, reply
                return tx_id, await raw.call("StopTransaction", {
                    "transactionId": tx_id, "meterStop": 99_000_000, "timestamp": iso(t0 + timedelta(minutes=50))})

    tx_id, stop = run(scenario())
    assert stop[0] == 3, stop
    with db.session() as s:
        tx = s.get(Transaction, tx_id)
        assert tx.status == "completed" and tx.cost_minor == 0 and not tx.billable
        assert {"meter_start_not_positive", "register_backwards", "not_billed"} <= tx.flag_codes
        assert len(tx.meter_flags) <= 20


BAD_VALUES = ["NaN", "nan", "Infinity", "-Infinity", "1e400", "", "   ", "12,5", "0x10", 12.5, 7, None, True,
              "99999999999999999999"]


@pytest.mark.parametrize("bad", BAD_VALUES, ids=[repr(v) for v in BAD_VALUES])
def test_unreadable_sampled_value_is_skipped_and_counted_and_the_rest_is_stored(db, redis_url, setup, bad):
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=10)

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                tx_id = await start(raw, setup["tag"], 1_000, t0)
                reply = await raw.call("MeterValues", {"connectorId": 1, "transactionId": tx_id, "meterValue": [
                    reading(t0 + timedelta(minutes=1), sample(bad), sample("2000"),
                            sample("7.5", measurand="Power.Active.Import", unit="kW")),
                    reading(t0 + timedelta(minutes=2), sample("3000")),
                ]})
                return tx_id, reply

    tx_id, reply = run(scenario())
    assert reply[0] == 3, reply
    with db.session() as s:
        values = s.scalars(select(MeterValue.value).where(MeterValue.transaction_id == tx_id)
                           .order_by(MeterValue.timestamp, MeterValue.id)).all()
        assert sorted(float(v) for v in values) == [7.5, 2000.0, 3000.0]
        assert s.get(Transaction, tx_id).meter_last_wh == 3_000
        assert cp_row(s, setup["identity"]).skipped_samples == 1


def test_malformed_parts_of_a_meter_message_are_skipped_not_refused(db, redis_url, setup):
    """Entries without a readable timestamp, non-object samples, wrong enum values: skipped one by one."""
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=10)

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                tx_id = await start(raw, setup["tag"], 1_000, t0)
                reply = await raw.call("MeterValues", {"connectorId": 1, "transactionId": tx_id, "meterValue": [
                    {"timestamp": "not a time", "sampledValue": [sample("1500")]},
                    {"sampledValue": [sample("1600")]},
                    "garbage",
                    reading(t0 + timedelta(minutes=1), "x", sample("1700", unit="Parsecs"), sample("2000")),
                ]})
                return tx_id, reply

    tx_id, reply = run(scenario())
    assert reply[0] == 3, reply
    with db.session() as s:
        values = s.scalars(select(MeterValue.value).where(MeterValue.transaction_id == tx_id)).all()
        assert [int(v) for v in values] == [2_000]
        assert cp_row(s, setup["identity"]).skipped_samples == 5


def test_meter_values_sent_twice_are_stored_once(db, redis_url, setup):
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=10)
    message = None

    async def scenario():
        nonlocal message
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                tx_id = await start(raw, setup["tag"], 1_000, t0)
                message = {"connectorId": 1, "transactionId": tx_id, "meterValue": [
                    reading(t0 + timedelta(minutes=1), sample("2000"), sample("3.5", measurand="Current.Import",
                                                                              unit="A", phase="L1"))]}
                assert (await raw.call("MeterValues", message))[0] == 3
                assert (await raw.call("MeterValues", message))[0] == 3
                return tx_id

    tx_id = run(scenario())
    with db.session() as s:
        assert s.scalar(select(func.count(MeterValue.id)).where(MeterValue.transaction_id == tx_id)) == 2


def _start_then_stop(db, redis_url, setup, t0: datetime, meter_stop: int, transaction_data) -> tuple[int, list]:
    """A session started at t0 (10,000 Wh) and stopped 30 minutes later with this transactionData."""
    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                tx_id = await start(raw, setup["tag"], 10_000, t0)
                stop = await raw.call("StopTransaction", {
                    "transactionId": tx_id, "meterStop": meter_stop, "timestamp": iso(t0 + timedelta(minutes=30)),
                    "transactionData": transaction_data})
                return tx_id, stop

    return run(scenario())


def test_malformed_transaction_data_never_rejects_the_stop(db, redis_url, setup):
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=30)
    tx_id, stop = _start_then_stop(db, redis_url, setup, t0, 16_000, [
        reading(t0 + timedelta(minutes=10), sample("12000")),
        {"timestamp": "yesterday", "sampledValue": [sample("13000")]},
        {"sampledValue": "not a list"},
        reading(t0 + timedelta(minutes=20), sample("NaN"), {"value": 14000}, sample("14500")),
        42,
    ])
    assert stop[0] == 3, stop
    with db.session() as s:
        tx = s.get(Transaction, tx_id)
        assert tx.status == "completed" and tx.energy_wh == 6_000 and tx.cost_minor == ore(6_000)
        values = s.scalars(select(MeterValue.value).where(MeterValue.transaction_id == tx_id)
                           .order_by(MeterValue.timestamp)).all()
        assert [int(v) for v in values] == [12_000, 14_500]


def test_transaction_data_that_is_not_a_list_never_rejects_the_stop(db, redis_url, setup):
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=30)
    tx_id, stop = _start_then_stop(db, redis_url, setup, t0, 11_000, {"oops": True})
    assert stop[0] == 3, stop
    with db.session() as s:
        assert s.get(Transaction, tx_id).energy_wh == 1_000


def test_stop_for_an_unknown_transaction_keeps_its_transaction_data(db, redis_url, setup):
    at = datetime.now(timezone.utc).replace(microsecond=0)
    data = [reading(at - timedelta(minutes=5), sample("1000", context="Transaction.Begin")),
            reading(at, sample("NaN"), sample("2000", context="Transaction.End"))]

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                return await raw.call("StopTransaction", {"transactionId": 424242, "meterStop": 2_000,
                                                          "timestamp": iso(at), "transactionData": data})

    assert run(scenario())[0] == 3
    with db.session() as s:
        orphan = s.scalar(select(OrphanStop))
        assert orphan.payload["transactionData"][1]["sampledValue"][1]["value"] == "2000"
        assert orphan.payload["transactionData"][1]["sampledValue"][0]["value"] == "NaN"
