"""The node's charger cache (ocpp_server.cache) and the change announcements that keep it right (portal.db).

Real Redis, real database: a batch whose chargers are cached runs no lookup; a change committed anywhere
else (web, staff tools, another node) is announced after COMMIT and the node sees it on the charger's next
message; a failed batch leaves nothing stale; Redis away turns the cache off and a resubscription clears it.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Callable

import pytest
from redis import Redis
from sqlalchemy import event, update

from ocpp_server.batch import WriteBatch
from ocpp_server.cache import ChargerCache
from portal.db import ANNOUNCED, CHANGES_CHANNEL, ChangeAnnouncer, Database, utcnow
from portal.models import ActionRequest, ChargePoint, Connector, MeterValue, Site, Transaction
from portal.services import ocpp_ingest
from portal.services.ocpp_ingest.common import charge_point, format_time
from portal.services.sites.onboarding import virtual_tag
from portal.services.staff import stuck
from tests.factories import make_charge_point, make_site, make_user, resident_with_access
from tests.integration.ocpp_helpers import ocpp_node, query, raw_charger, run
from tests.integration.test_site_chargers import board  # noqa: F401,F811  (a pytest fixture: the board member of site eik, logged in)
from tests.support.services import RedisServer


# --- helpers ---------------------------------------------------------------------------------------

@contextmanager
def statements(db: Database):
    """The SQL statements executed meanwhile (on every connection of this engine)."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args):
        seen.append(statement.strip().split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def batch(db: Database, cache: ChargerCache, identities: list[str], work: Callable[[Any, WriteBatch], Any],
          factory: Any = None) -> Any:
    """One group commit as the node's writer runs it: begin (the cache's session, the batch it fills), run
    work(session, batch), insert the batch's meter rows, commit, keep."""
    b = WriteBatch()
    s = cache.begin(factory or db.session_factory, b, identities)
    committed = False
    try:
        result = work(s, b)
        b.write_meter_rows(s)
        s.commit()
        committed = True
        return result
    finally:
        cache.end(s, b, committed)


def meter(wh: int, at=None) -> list[dict]:
    return [{"timestamp": format_time(at or utcnow()), "sampled_value": [{"value": str(wh), "unit": "Wh"}]}]


@pytest.fixture
def charger(session):
    site = make_site(session, "cache")
    cp = make_charge_point(session, site, "CP-CACHE-1", connectors=2)
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="T1", start_key=uuid.uuid4().hex,
                     meter_start_wh=1000, started_at=utcnow() - timedelta(minutes=5), status="active")
    session.add(tx)
    session.commit()
    return {"site": site, "cp": cp, "tx": tx, "identity": cp.identity}


class LocalAnnouncer:
    """What the node's announcer does for its own cache (ocpp_server.cache.NodeAnnouncer), without Redis."""

    def __init__(self, cache: ChargerCache) -> None:
        self.cache = cache

    def announce(self, found) -> None:
        self.cache.written(found)


def warm(db: Database, charger: dict) -> ChargerCache:
    cache = ChargerCache(max_age=60)
    cache.enabled = True
    factory = db.tracked_sessions(LocalAnnouncer(cache))  # as a node's writer: its own announcer, node mode
    batch(db, cache, [charger["identity"]], lambda s, b: charge_point(s, charger["identity"], b), factory)
    assert charger["identity"] in cache and cache.misses == 1
    return cache


# --- the cache, batch by batch ---------------------------------------------------------------------

def test_a_batch_of_cached_chargers_runs_no_lookup(db, charger):
    cache = warm(db, charger)
    identity, cp_id, tx_id = charger["identity"], charger["cp"].id, charger["tx"].id
    now = utcnow()

    def messages(s, b):
        ocpp_ingest.boot(s, identity, vendor="V", model="M", serial=None, firmware="1.2", now=now, batch=b)
        ocpp_ingest.status_notification(s, identity, connector_id=1, status="Charging", error_code="NoError",
                                        info=None, vendor_error_code=None, timestamp=now, now=now, batch=b)
        ocpp_ingest.meter_values(s, identity, connector_id=1, transaction_id=None, meter_value=meter(1500, now),
                                 now=now, charge_point_id=cp_id, open_transaction_id=tx_id, batch=b)
        later = meter(1600, now + timedelta(seconds=1))
        ocpp_ingest.meter_values(s, identity, connector_id=1, transaction_id=tx_id, meter_value=later,
                                 now=utcnow(), charge_point_id=cp_id, open_transaction_id=tx_id, batch=b)

    with statements(db) as sql:
        batch(db, cache, [identity], messages)
    assert "SELECT" not in sql and {"UPDATE", "INSERT"} <= set(sql)
    assert cache.hits == 1 and cache.misses == 1
    with db.session() as s:  # what the cached objects wrote is what is stored
        cp, tx = s.get(ChargePoint, cp_id), s.get(Transaction, tx_id)
        assert (cp.vendor, cp.firmware_version, cp.boot_status) == ("V", "1.2", "Accepted")
        assert cp.connector(1).status == "Charging" and tx.meter_last_wh == 1600
    # and the next batch reads what this one wrote, still without a query
    with statements(db) as sql:
        seen = batch(db, cache, [identity], lambda s, b: (charge_point(s, identity, b).connector(1).status,
                                                       s.get(Transaction, tx_id).meter_last_wh))
    assert seen == ("Charging", 1600) and sql == []


def test_a_start_and_a_stop_keep_the_open_transactions_exact(db, session, charger):
    _, resident, cp = resident_with_access(session)
    tag = virtual_tag(session, resident).tag
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag=tag, start_key=uuid.uuid4().hex,
                     meter_start_wh=1000, started_at=utcnow() - timedelta(minutes=5), status="active")
    session.add(tx)
    session.commit()
    charger = {"identity": cp.identity, "cp": cp, "tx": tx}
    cache = warm(db, charger)
    identity, cp_id = charger["identity"], charger["cp"].id
    started = batch(db, cache, [identity], lambda s, b: ocpp_ingest.start_transaction(
        s, identity, connector_id=2, id_tag=tag, meter_start=50, timestamp=utcnow(), now=utcnow(), batch=b))
    assert started.status == "Accepted"
    assert [tx.id for tx in cache._entries[identity].transactions] == [charger["tx"].id, started.transaction_id]
    with statements(db) as sql:
        opened = batch(db, cache, [identity], lambda s, b: ocpp_ingest.open_transaction(b, cp_id, 2))
    assert opened == (True, started.transaction_id) and "SELECT" not in sql
    batch(db, cache, [identity], lambda s, b: ocpp_ingest.stop_transaction(
        s, identity, transaction_id=started.transaction_id, meter_stop=900, timestamp=utcnow(), reason=None,
        id_tag=None, transaction_data=None, payload={}, now=utcnow(), batch=b))
    assert [tx.id for tx in cache._entries[identity].transactions] == [charger["tx"].id]


def test_a_failed_batch_leaves_nothing_cached(db, charger):
    cache = warm(db, charger)
    identity = charger["identity"]

    def fails(s, b):
        cp = charge_point(s, identity, b)
        cp.vendor, cp.enabled = "never stored", False
        cp.connector(1).status = "Faulted"
        s.flush()
        raise RuntimeError("a bad message")

    with pytest.raises(RuntimeError):
        batch(db, cache, [identity], fails)
    assert len(cache) == 0 and cache.clears == 1
    cp = batch(db, cache, [identity], lambda s, b: charge_point(s, identity, b))
    assert (cp.vendor, cp.enabled, cp.connector(1).status) == ("", True, "Available")
    assert cache.misses == 2


def test_a_change_announced_while_a_batch_runs_is_not_stored_back(db, charger):
    cache = warm(db, charger)
    identity, cp_id = charger["identity"], charger["cp"].id

    def meanwhile(s, b):
        charge_point(s, identity, b)
        cache.drop(charge_points=[cp_id])  # the subscriber, on the event loop, while the batch runs
    batch(db, cache, [identity], meanwhile)
    assert identity not in cache


def test_a_site_change_drops_every_charger_of_the_site_and_they_share_one_site_object(db, session, charger):
    other = make_charge_point(session, charger["site"], "CP-CACHE-2")
    session.commit()
    cache = warm(db, charger)
    batch(db, cache, [other.identity], lambda s, b: charge_point(s, other.identity, b))  # loaded later, alone
    both = [charger["identity"], other.identity]
    sites = batch(db, cache, both, lambda s, b: {id(charge_point(s, i, b).site) for i in both})
    assert len(sites) == 1
    cache.drop(sites=[charger["site"].id])
    assert len(cache) == 0


def test_the_node_keeps_its_own_writes_and_drops_writes_through_other_objects(db, charger):
    cache = warm(db, charger)
    identity, cp_id = charger["identity"], charger["cp"].id
    batch(db, cache, [identity], lambda s, b: setattr(charge_point(s, identity, b), "firmware_version", "2.0"))
    assert identity in cache and cache._entries[identity].cp.firmware_version == "2.0"

    def behind_its_back(s, b):  # a batch that did not name the charger loads and changes it
        s.get(ChargePoint, cp_id).firmware_version = "3.0"
    batch(db, cache, [], behind_its_back)
    assert identity not in cache


def test_an_entry_is_loaded_again_after_its_maximum_age(db, charger):
    cache = warm(db, charger)
    cache.max_age = 0
    with statements(db) as sql:
        batch(db, cache, [charger["identity"]], lambda s, b: charge_point(s, charger["identity"], b))
    assert "SELECT" in sql and cache.misses == 2


def test_an_object_with_a_column_the_database_computed_is_not_kept(db, charger):
    cache = warm(db, charger)
    identity = charger["identity"]

    def server_side_value(s, b):  # an UPDATE whose other column the database computes (server onupdate)
        cp = charge_point(s, identity, b)
        cp.firmware_version = "9"
        s.flush()
        s.expire(cp, ["heartbeat_interval"])  # what the ORM leaves behind for such a column
    batch(db, cache, [identity], server_side_value)
    assert identity not in cache


def test_other_relationships_are_not_kept(db, session, charger):
    owner = make_user(session, "owner@cache.test")
    session.get(ChargePoint, charger["cp"].id).owner_id = owner.id
    session.commit()
    cache = warm(db, charger)
    identity = charger["identity"]
    assert batch(db, cache, [identity], lambda s, b: charge_point(s, identity, b).owner.email) == "owner@cache.test"
    cp = cache._entries[identity].cp
    assert "owner" not in cp.__dict__ and "site" in cp.__dict__ and "connectors" in cp.__dict__


# --- announcements -----------------------------------------------------------------------------------

@contextmanager
def channel(redis_url: str):
    """The messages published on the change channel meanwhile (read after the block)."""
    client = Redis.from_url(redis_url)
    pubsub = client.pubsub()
    pubsub.subscribe(CHANGES_CHANNEL)
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    messages: list[dict] = []
    try:
        yield messages
    finally:
        client.publish(CHANGES_CHANNEL, "end")
        while True:
            message = pubsub.get_message(timeout=5)
            assert message is not None
            if message["data"] == b"end":
                break
            messages.append(json.loads(message["data"]))
        pubsub.close()
        client.close()


def test_every_commit_that_changes_what_a_node_caches_is_announced_after_commit(db, session, charger, redis_url):
    cp_id, site_id, tx_id = charger["cp"].id, charger["site"].id, charger["tx"].id
    with channel(redis_url) as messages:
        session.get(ChargePoint, cp_id).enabled = False
        session.commit()
        session.get(Connector, session.get(ChargePoint, cp_id).connector(1).id).status = "Faulted"
        session.commit()
        session.get(Site, site_id).agreement_status = "ended"
        session.commit()
        session.get(Transaction, tx_id).status = "completed"
        session.commit()
        session.get(ChargePoint, cp_id).name = "rolled back"
        session.flush()
        session.rollback()
        session.get(ChargePoint, cp_id).name = charger["cp"].name  # set, but nothing changes
        session.commit()
        session.execute(update(Transaction).where(Transaction.id == tx_id).values(energy_wh=1))
        session.commit()
        session.execute(update(Transaction).where(Transaction.id == tx_id).values(energy_wh=2)
                        .execution_options(**ANNOUNCED))
        session.commit()
    assert [(m["cp"], m["site"], m["all"]) for m in messages] == [
        ([cp_id], [], False), ([cp_id], [], False), ([], [site_id], False), ([cp_id], [], False), ([], [], True)]


def test_a_nodes_bookkeeping_is_not_announced_but_the_same_write_elsewhere_is(db, charger, redis_url):
    cp_id = charger["cp"].id
    with channel(redis_url) as messages:
        with db.session(db.tracked_sessions(ChangeAnnouncer(redis_url, origin="node-x"))) as s:
            s.get(ChargePoint, cp_id).last_seen_at = utcnow()
            s.get(Transaction, charger["tx"].id).meter_last_wh = 1234
            s.commit()
        with db.session() as s:
            s.get(ChargePoint, cp_id).last_seen_at = utcnow()
            s.commit()
    assert [m["cp"] for m in messages] == [[cp_id]]


def test_with_redis_away_a_commit_still_succeeds(database_url, charger):
    away = Database.from_url(database_url, redis_url="redis://127.0.0.1:1/0")
    try:
        with away.session() as s:
            s.get(ChargePoint, charger["cp"].id).enabled = False
            s.commit()
        with away.session() as s:
            assert s.get(ChargePoint, charger["cp"].id).enabled is False
        assert away.announcer.lost == 1 and away.announcer.published == 0
    finally:
        away.dispose()


# --- the node ---------------------------------------------------------------------------------------

async def until(condition: Callable[[], Any], timeout: float = 8) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met in {timeout}s")
        await asyncio.sleep(0.02)


def boot(raw) -> Any:
    return raw.call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})


def status(raw, connector: int = 1, state: str = "Available") -> Any:
    return raw.call("StatusNotification", {"connectorId": connector, "errorCode": "NoError", "status": state})


@pytest.fixture
def no_queued_jobs(redis_url):
    from rq import Queue

    from portal import settings

    queue = Queue(settings.CHARGER_QUEUE, connection=Redis.from_url(redis_url))
    queue.empty()
    yield
    queue.empty()


def test_a_charger_disabled_on_the_board_is_seen_by_the_node_on_its_next_message(
        db, redis_url, client, board, no_queued_jobs):  # noqa: F811
    _, _, cp = board
    form = {"name": "Garage 1", "status": "disabled", "cp_type": "private", "tariff_group_id": "0", "owner_email": ""}

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            await until(lambda: node.cache.enabled)
            async with raw_charger(node, cp.identity) as raw:
                await boot(raw)
                await status(raw)
                assert cp.identity in node.cache and node.connections[cp.identity].enabled
                response = await asyncio.to_thread(client.post, f"/manage/eik/chargers/{cp.id}", data=form)
                assert response.status_code == 303
                await until(lambda: cp.identity not in node.cache)
                await status(raw)  # the next message: answered with the charger now disabled
                for _ in range(50):  # the node's ChangeAvailability arrives among the next replies
                    if raw.received_calls:
                        break
                    await raw.call("Heartbeat", {})
                    await asyncio.sleep(0.05)
                return node.connections[cp.identity].enabled, [c[3] for c in raw.received_calls]

    enabled, calls = run(scenario())
    assert enabled is False and calls == [{"connectorId": 0, "type": "Inoperative"}]


def test_a_site_whose_agreement_ended_rejects_the_next_boot(db, redis_url, session):
    site = make_site(session, "ended")
    cp = make_charge_point(session, site, "CP-ENDED")
    session.commit()

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            await until(lambda: node.cache.enabled)
            async with raw_charger(node, cp.identity) as raw:
                first = await boot(raw)
                assert cp.identity in node.cache

                def end_agreement(s):
                    s.get(Site, site.id).agreement_status = "ended"
                    s.commit()
                await query(db, end_agreement)
                await until(lambda: cp.identity not in node.cache)
                second = await boot(raw)
                return first[2]["status"], second[2]["status"]

    assert run(scenario()) == ("Accepted", "Rejected")


def test_staff_closing_a_stuck_session_is_seen_by_the_node_on_the_next_meter_values(db, redis_url, session):
    _, resident, cp = resident_with_access(session)
    support = make_user(session, "support@cache.test", staff_role="support")
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="VTAG", user_id=resident.id, status="active",
                     start_key="cache-stuck", meter_start_wh=1000, started_at=utcnow() - timedelta(hours=2))
    session.add(tx)
    session.commit()

    def close(s):
        # the charger refused the stop (issue 18: it is asked first), so support closes by hand, with the
        # override, since it reported the session a moment ago
        s.add(ActionRequest(charge_point_id=cp.id, connector_id=1, action="RemoteStopTransaction", state="rejected",
                            payload={"transactionId": tx.id}, transaction_id=tx.id, answered_at=utcnow()))
        s.flush()
        stuck.close(s, s.get(type(support), support.id), s.get(Transaction, tx.id), end_reading="last",
                    billed=False, reason="charger froze", resident_reason="charger_no_stop", override=True,
                    override_reason="the charger refused the stop")
        s.commit()

    def readings(s):
        return sorted((int(m.value), m.transaction_id) for m in s.query(MeterValue).filter_by(charge_point_id=cp.id))

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            await until(lambda: node.cache.enabled)
            async with raw_charger(node, cp.identity) as raw:
                await boot(raw)
                await raw.call("MeterValues", {"connectorId": 1, "meterValue": [
                    {"timestamp": format_time(utcnow()), "sampledValue": [{"value": "2000"}]}]})
                assert [t.id for t in node.cache._entries[cp.identity].transactions] == [tx.id]
                await query(db, close)
                await until(lambda: cp.identity not in node.cache)
                await raw.call("MeterValues", {"connectorId": 1, "meterValue": [
                    {"timestamp": format_time(utcnow() + timedelta(seconds=1)), "sampledValue": [{"value": "3000"}]}]})
                return node.cache._entries[cp.identity].transactions

    assert run(scenario()) == ()
    with db.session() as s:
        closed = s.get(Transaction, tx.id)
        assert (closed.status, closed.meter_last_wh) == ("completed", 2000)
        assert readings(s) == [(2000, tx.id), (3000, None)]
        # the charger went on with the session it still counts as open: recorded for review, not billed
        assert (closed.after_close_wh, closed.cost_minor) == (1000, 0) and closed.after_close_last_at is not None


def test_another_nodes_commit_drops_this_nodes_entry(db, redis_url, session):
    site = make_site(session, "moved")
    cp = make_charge_point(session, site, "CP-MOVED")
    session.commit()

    async def scenario():
        async with ocpp_node(db, redis_url, node_id="node-a") as a, ocpp_node(db, redis_url, node_id="node-b") as b:
            await until(lambda: a.cache.enabled and b.cache.enabled)
            async with raw_charger(a, cp.identity) as raw:
                await boot(raw)
                assert cp.identity in a.cache
                # the charger shows up on node B (its old socket on A not yet gone)
                await b.run_for(cp.identity, ocpp_ingest.connected, b.node_id, utcnow())
                await until(lambda: cp.identity not in a.cache)
                own = a.announcer.published
                await boot(raw)  # A reads the database again
                return cp.identity in a.cache, own

    cached_again, _ = run(scenario())
    assert cached_again


def test_a_failed_group_commit_keeps_nothing_of_it(db, redis_url, session):
    site = make_site(session, "failing")
    cp = make_charge_point(session, site, "CP-FAILING")
    session.commit()

    def breaks(s, identity, batch=None):
        charge_point(s, identity, batch).vendor = "never stored"
        raise RuntimeError("a bad message in the batch")

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            await until(lambda: node.cache.enabled)
            async with raw_charger(node, cp.identity) as raw:
                await boot(raw)
                assert cp.identity in node.cache
                boot_again = ocpp_ingest.boot
                results = await asyncio.gather(
                    node.run_for(cp.identity, boot_again, vendor="W", model="M", serial=None, firmware=None,
                                now=utcnow()),
                    node.run_for(cp.identity, breaks), return_exceptions=True)
                assert node.writer.retried_batches == 1
                assert isinstance(results[1], RuntimeError) and results[0].status == "Accepted"
                await status(raw)
                return node.cache._entries[cp.identity].cp.vendor

    assert run(scenario()) == "W"
    with db.session() as s:
        assert s.get(ChargePoint, cp.id).vendor == "W"


def test_redis_restart_turns_the_cache_off_then_clears_it(db, session):
    site = make_site(session, "restart")
    cp = make_charge_point(session, site, "CP-RESTART")
    session.commit()
    redis = RedisServer()

    async def scenario():
        async with ocpp_node(db, redis.url) as node:
            await until(lambda: node.cache.enabled)
            async with raw_charger(node, cp.identity) as raw:
                await boot(raw)
                assert cp.identity in node.cache
                clears = node.cache.clears
                await asyncio.to_thread(redis.kill)
                await until(lambda: not node.cache.enabled)
                assert len(node.cache) == 0 and node.cache.clears > clears
                away = (await status(raw))[0]  # still answered, read from the database
                assert cp.identity not in node.cache
                await asyncio.to_thread(redis.restart)
                await until(lambda: node.cache.enabled, timeout=15)
                await status(raw, state="Preparing")
                return away, cp.identity in node.cache

    try:
        assert run(scenario(), timeout=60) == (3, True)
    finally:
        redis.stop()


def test_with_the_cache_off_every_batch_reads_the_database(db, session, charger):
    cache = warm(db, charger)
    cache.enabled = False  # not subscribed: nothing may be served from memory
    identity = charger["identity"]
    assert batch(db, cache, [identity], lambda s, b: charge_point(s, identity, b).enabled) is True
    session.get(ChargePoint, charger["cp"].id).enabled = False
    session.commit()  # announced, but nobody is listening
    assert batch(db, cache, [identity], lambda s, b: charge_point(s, identity, b).enabled) is False
    assert len(cache) == 0
