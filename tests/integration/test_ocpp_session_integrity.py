"""Sessions as real chargers open and close them: billing decisions, resent starts, bad clocks, failing side effects.

Each test drives a live node over a real WebSocket and checks the answers and what the database holds.
"""
from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

import portal.services.charging.action_hooks
from portal.models import ChargePoint, IdTag, Membership, Tariff, Transaction, UserSubscription
from portal.services import ocpp_ingest
from portal.services.sites.onboarding import virtual_tag
from tests.factories import make_user, resident_with_access
from tests.integration.ocpp_helpers import ocpp_node, raw_charger, run

MIN_PRICE = 900


@pytest.fixture
def setup(session):
    site, user, cp = resident_with_access(session, fee="2.50")
    session.execute(update(Tariff).where(Tariff.site_id == site.id).values(min_price_minor=MIN_PRICE))
    tag = virtual_tag(session, user).tag
    stranger = virtual_tag(session, make_user(session)).tag
    session.add(IdTag(tag="RFID-7", user_id=user.id))
    session.commit()
    return {"identity": cp.identity, "tag": tag, "stranger": stranger, "user_id": user.id}


def iso(moment: datetime) -> str:
    return moment.isoformat()


def now_s() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def start_msg(tag: str, meter: int, at: datetime | str, connector: int = 1) -> dict:
    return {"connectorId": connector, "idTag": tag, "meterStart": meter,
            "timestamp": at if isinstance(at, str) else iso(at)}


def energy(tx_id: int, at: datetime, wh: int) -> dict:
    return {"connectorId": 1, "transactionId": tx_id,
            "meterValue": [{"timestamp": iso(at), "sampledValue": [{"value": str(wh)}]}]}


def tx_row(db, tx_id: int) -> Transaction:
    with db.session() as s:
        return s.get(Transaction, tx_id)


# --- 5. billing --------------------------------------------------------------------------------

def test_a_session_flagged_not_billable_costs_nothing_not_the_minimum_price(db, redis_url, setup):
    t0 = now_s() - timedelta(minutes=30)

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                tx_id = (await raw.call("StartTransaction", start_msg(setup["tag"], 2_000_000, t0)))[2]["transactionId"]
                await raw.call("StopTransaction", {"transactionId": tx_id, "meterStop": 1_000,
                                                   "timestamp": iso(t0 + timedelta(minutes=20))})
                return tx_id

    tx = tx_row(db, run(scenario()))
    assert tx.status == "completed" and "not_billed" in tx.flag_codes and not tx.billable
    assert tx.energy_wh == 0 and tx.cost_minor == 0 and tx.vat_minor == 0


def test_an_automatic_closure_without_readings_costs_nothing_and_says_why(db, redis_url, setup):
    t0 = now_s() - timedelta(hours=3)

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                first = (await raw.call("StartTransaction", start_msg(setup["tag"], 100_000, t0)))[2]["transactionId"]
                await raw.call("StartTransaction", start_msg(setup["tag"], 100_000, t0 + timedelta(hours=2)))
                return first

    tx = tx_row(db, run(scenario()))
    assert tx.status == "completed" and tx.stop_reason == "Abandoned"
    assert {"no_stop_received", "no_readings"} <= tx.flag_codes and not tx.billable and tx.cost_minor == 0


def test_charging_after_an_invalid_answer_records_the_energy_but_bills_nothing(db, redis_url, setup):
    t0 = now_s() - timedelta(minutes=40)

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                reply = await raw.call("StartTransaction", start_msg(setup["stranger"], 50_000, t0))
                assert reply[2]["idTagInfo"]["status"] == "Invalid"
                tx_id = reply[2]["transactionId"]
                await raw.call("MeterValues", energy(tx_id, t0 + timedelta(minutes=10), 53_000))
                stop = await raw.call("StopTransaction", {"transactionId": tx_id, "meterStop": 58_000,
                                                          "timestamp": iso(t0 + timedelta(minutes=30))})
                assert stop[0] == 3
                return tx_id

    tx = tx_row(db, run(scenario()))
    assert tx.energy_wh == 8_000 and tx.meter_stop_wh == 58_000 and tx.meter_last_wh == 53_000
    assert tx.access_decision == "no_access" and not tx.billable and tx.cost_minor == 0


def _backdate_access(db, user_id: int, *, since: datetime, until: datetime | None = None) -> None:
    """The user's membership and subscriptions began at `since` (and the subscriptions ended at `until`)."""
    with db.session() as s:
        s.execute(update(Membership).where(Membership.user_id == user_id).values(created_at=since))
        values = {"started_at": since, **({"ended_at": until, "status": "ended"} if until else {})}
        s.execute(update(UserSubscription).where(UserSubscription.user_id == user_id).values(**values))
        s.commit()


def _offline_session(db, redis_url, identity: str, t0: datetime) -> Transaction:
    """A session the charger started at t0 while offline and reports only now."""
    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, identity) as raw:
                reply = await raw.call("StartTransaction", start_msg("RFID-7", 10_000, t0))
                tx_id = reply[2]["transactionId"]
                await raw.call("StopTransaction", {"transactionId": tx_id, "meterStop": 30_000,
                                                   "timestamp": iso(t0 + timedelta(hours=2))})
                return tx_id

    return tx_row(db, run(scenario()))


def test_a_session_started_offline_is_billed_by_the_access_the_user_has(db, redis_url, setup):
    t0 = now_s() - timedelta(hours=5)
    _backdate_access(db, setup["user_id"], since=t0 - timedelta(days=30))
    tx = _offline_session(db, redis_url, setup["identity"], t0)
    assert tx.started_at == t0 and tx.access_decision == "ok" and tx.billable
    assert tx.energy_wh == 20_000 and tx.cost_minor == 5_000


def test_an_offline_start_is_billed_when_access_ended_after_it_but_before_the_message_arrived(db, redis_url,
                                                                                               setup):
    t0 = now_s() - timedelta(hours=5)
    _backdate_access(db, setup["user_id"], since=t0 - timedelta(days=30), until=t0 + timedelta(hours=1))
    tx = _offline_session(db, redis_url, setup["identity"], t0)
    assert tx.access_decision == "ok" and tx.billable and tx.cost_minor == 5_000


def test_an_offline_start_before_the_user_had_access_is_recorded_but_not_billed(db, redis_url, setup):
    t0 = now_s() - timedelta(hours=5)
    _backdate_access(db, setup["user_id"], since=t0 + timedelta(hours=1))  # joined and subscribed later
    tx = _offline_session(db, redis_url, setup["identity"], t0)
    assert tx.energy_wh == 20_000 and tx.access_decision != "ok" and not tx.billable and tx.cost_minor == 0


def test_answers_carry_an_expiry_and_a_blocked_tag_is_refused_at_the_next_ask(db, redis_url, setup, session):
    async def ask():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                auth = await raw.call("Authorize", {"idTag": "RFID-7"})
                start = await raw.call("StartTransaction", start_msg("RFID-7", 1_000, now_s()))
                return auth[2]["idTagInfo"], start[2]["idTagInfo"]

    before = now_s()
    auth, start = run(ask())
    for info in (auth, start):
        assert info["status"] == "Accepted"
        expiry = ocpp_ingest.parse_time(info["expiryDate"])
        assert before < expiry <= before + timedelta(hours=1)
    session.execute(update(IdTag).where(IdTag.tag == "RFID-7").values(blocked=True))
    session.commit()
    auth, _ = run(ask())
    assert auth["status"] == "Blocked"


# --- 6. duplicates -----------------------------------------------------------------------------

def test_a_resent_start_gets_the_same_id_only_while_the_session_is_open(db, redis_url, setup):
    t0 = now_s() - timedelta(minutes=10)
    start = start_msg(setup["tag"], 5_000, t0)

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                first = (await raw.call("StartTransaction", start))[2]["transactionId"]
                again = (await raw.call("StartTransaction", start))[2]["transactionId"]
                await raw.call("StopTransaction", {"transactionId": first, "meterStop": 5_000,
                                                   "timestamp": iso(t0 + timedelta(minutes=1))})
                after_stop = (await raw.call("StartTransaction", start))[2]["transactionId"]
                resent = (await raw.call("StartTransaction", start))[2]["transactionId"]
                return first, again, after_stop, resent

    first, again, after_stop, resent = run(scenario())
    assert first == again and after_stop != first and resent == after_stop
    assert tx_row(db, after_stop).status == "active"


def test_an_unreadable_start_time_is_replaced_and_never_part_of_the_duplicate_key(db, redis_url, setup):
    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                one = await raw.call("StartTransaction", start_msg(setup["tag"], 7_000, "not a time"))
                two = await raw.call("StartTransaction", start_msg(setup["tag"], 7_000, "not a time"))
                return one, two

    before = datetime.now(timezone.utc)
    one, two = run(scenario())
    assert one[0] == two[0] == 3 and one[2]["transactionId"] == two[2]["transactionId"]
    tx = tx_row(db, one[2]["transactionId"])
    assert tx.started_at >= before and "clock_replaced" in tx.flag_codes


# --- 7. clocks ---------------------------------------------------------------------------------

BOOT = {"chargePointVendor": "V", "chargePointModel": "M"}


@pytest.mark.parametrize("claimed", [timedelta(hours=1), -timedelta(days=365 * 20)], ids=["future", "before-boot"])
def test_a_start_time_in_the_future_or_before_the_boot_is_replaced_and_flagged(db, redis_url, setup, claimed):
    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                await raw.call("BootNotification", BOOT)
                return await raw.call("StartTransaction", start_msg(setup["tag"], 1_000, now_s() + claimed))

    before = datetime.now(timezone.utc)
    reply = run(scenario())
    tx = tx_row(db, reply[2]["transactionId"])
    assert before <= tx.started_at <= datetime.now(timezone.utc) and "clock_replaced" in tx.flag_codes
    with db.session() as s:
        cp = s.scalar(select(ChargePoint).where(ChargePoint.identity == setup["identity"]))
        assert cp.clock_corrections == 1 and cp.booted_at is not None


@pytest.mark.parametrize("ahead", [timedelta(minutes=4), timedelta(hours=2)])
def test_a_status_from_a_clock_running_ahead_never_hides_the_next_status(db, redis_url, setup, ahead):
    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                for status, offset in (("Charging", ahead), ("Available", timedelta(0))):
                    at = now_s() + offset  # the next status is stamped when it is sent, after the first's answer
                    reply = await raw.call("StatusNotification", {"connectorId": 1, "errorCode": "NoError",
                                                                  "status": status, "timestamp": iso(at)})
                    assert reply[0] == 3

    run(scenario())
    with db.session() as s:
        cp = s.scalar(select(ChargePoint).where(ChargePoint.identity == setup["identity"]))
        assert cp.connector(1).status == "Available"


# --- 8. answers when a side effect fails --------------------------------------------------------

class BrokenWrite:
    """Stands in for an ocpp_ingest function the node calls and fails like a locked database; records each
    call, so a test proves the failure was injected where the node really writes."""

    def __init__(self, monkeypatch, name: str) -> None:
        self.name = self.__name__ = name  # the node logs the failed function by name
        self.calls, self.reached = [], threading.Event()
        # by module attribute: the node looks these up on ocpp_ingest at call time
        monkeypatch.setattr(ocpp_ingest, name, self)

    def __call__(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        self.reached.set()
        raise OperationalError(f"{self.name}: UPDATE charge_points", {}, Exception("database is locked"))


async def _until(event: threading.Event, timeout: float = 20.0) -> None:
    """Wait (without blocking the node's loop) until a thread sets ``event``."""
    assert await asyncio.to_thread(event.wait, timeout), "the broken write was never reached"


# Messages whose one write is the charger's last-seen time (ocpp_ingest.mark_seen, batched by
# ocpp_server.seen), and messages that write through their own ocpp_ingest function.
LAST_SEEN_ONLY = [("Heartbeat", {}),
                  ("DiagnosticsStatusNotification", {"status": "Idle"}),
                  ("FirmwareStatusNotification", {"status": "Idle"}),
                  ("DataTransfer", {"vendorId": "com.example"})]


def test_messages_with_only_side_effects_are_answered_even_when_the_write_fails(db, redis_url, setup, monkeypatch):
    seen = BrokenWrite(monkeypatch, "mark_seen")
    own = {name: BrokenWrite(monkeypatch, name) for name in ("status_notification", "boot", "authorize")}
    messages = [("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}),
                ("BootNotification", BOOT),
                ("Authorize", {"idTag": setup["tag"]})]

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                first = [await raw.call(action, payload) for action, payload in LAST_SEEN_ONLY]
                await _until(seen.reached)  # the batched last-seen write for those frames failed
                after_failure = [await raw.call(action, payload) for action, payload in LAST_SEEN_ONLY]
                own_writes = [await raw.call(action, payload) for action, payload in messages]
                return first, after_failure, own_writes

    first, after_failure, own_writes = run(scenario())
    assert [r[0] for r in first + after_failure + own_writes] == [3] * (2 * len(LAST_SEEN_ONLY) + 3), \
        (first, after_failure, own_writes)
    assert any(setup["identity"] in args[-1] for args, _ in seen.calls), seen.calls  # our charger's time
    # each reached (the node's writer tries a failed batch once more item by item, so maybe twice)
    assert {name: broken.reached.is_set() for name, broken in own.items()} == \
        {"status_notification": True, "boot": True, "authorize": True}
    assert own_writes[1][2]["status"] == "Pending" and own_writes[2][2]["idTagInfo"]["status"] == "Invalid"


def test_a_start_that_fails_half_way_answers_internal_error_and_stores_nothing(db, redis_url, setup, monkeypatch):
    def hook_fails(session, tx):
        raise RuntimeError("the actions hook failed after the session was added")

    monkeypatch.setattr(portal.services.charging.action_hooks, "on_transaction_started", hook_fails)

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, setup["identity"]) as raw:
                return await raw.call("StartTransaction", start_msg(setup["tag"], 1_000, now_s()))

    reply = run(scenario())
    assert reply[0] == 4 and reply[2] == "InternalError"
    with db.session() as s:
        assert s.scalar(select(func.count(Transaction.id))) == 0
