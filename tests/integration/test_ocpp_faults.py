"""Faults for real: an OCPP node process SIGKILLed with sessions running, the database away, Redis restarted.

Chargers are QueueingCharger clients (they keep and resend their transaction messages, as OCPP 1.6
asks). After each run the ledger check holds: every session has exactly one transaction and one
cost, its billed energy equals its metered energy, the sums agree, and no reading is stored twice.
"""
from __future__ import annotations

import asyncio
import os
import threading
from datetime import datetime, timedelta, timezone

import pytest
from redis import Redis
from sqlalchemy import create_engine, func, select, text

from ocpp_server.calls import claim_key
from portal.db import Database
from portal.models import ActionRequest, ChargePoint, MeterValue, Transaction
from portal.services.sites.onboarding import virtual_tag
from tests.conftest import browser_like_client
from tests.factories import CHARGER_SECRET, make_charge_point, make_site, make_user, standard_setup, subscribe
from tests.integration.ocpp_helpers import eventually, ocpp_node, run, simulator
from tests.integration.queueing_charger import QueueingCharger
from tests.support.services import RedisServer
from tests.support.stack import Stack, start_ocpp_node
from worker.jobs.charger import run_action

FEE_ORE_PER_KWH = 250
READINGS = 5
OUTAGE_S = float(os.environ.get("FAULT_DB_OUTAGE_S", "30"))


@pytest.fixture
def fleet(session):
    """Chargers at one site, and a resident whose tag may charge at all of them."""
    def make(n: int) -> tuple[list[str], str]:
        site = make_site(session)
        group, plan = standard_setup(session, site, "2.50")
        user = make_user(session, site=site)
        subscribe(session, user, plan)
        identities = [make_charge_point(session, site, f"CP-FAULT-{i:02d}", group=group, online=False).identity
                      for i in range(n)]
        tag = virtual_tag(session, user).tag
        session.commit()
        return identities, tag
    return make


@pytest.fixture
def env(database_url, redis_url):
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "OCPP_DB_STATEMENT_TIMEOUT_S": "1",
            "OCPP_MAX_MESSAGES_PER_S": "0"}


def plan_sessions(chargers: list[QueueingCharger], tag: str) -> None:
    """Each charger: a start, READINGS periodic readings and a stop, all an hour old (queued-looking)."""
    t0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
    for i, charger in enumerate(chargers):
        start = 1_000_000 + i * 10_000
        charger.start("s", tag, start, t0)
        for k in range(1, READINGS + 1):
            charger.meter("s", start + k * 1_000 + i, t0 + timedelta(minutes=5 * k))
        charger.stop("s", start + (READINGS + 1) * 1_000 + i * 7, t0 + timedelta(minutes=40))


def assert_ledger(db: Database, chargers: list[QueueingCharger]) -> None:
    """Every session once, billed on its metered energy; nothing the node acknowledged is missing."""
    metered_total = billed_total = 0
    with db.session() as s:
        for charger in chargers:
            cp_id = s.scalar(select(ChargePoint.id).where(ChargePoint.identity == charger.identity))
            txs = s.scalars(select(Transaction).where(Transaction.charge_point_id == cp_id)).all()
            session = charger.sessions["s"]
            assert len(txs) == 1, (charger.identity, [(t.id, t.status) for t in txs])
            tx = txs[0]
            metered = session.meter_stop - session.meter_start
            assert tx.id == session.transaction_id and tx.status == "completed"
            assert tx.energy_wh == metered and tx.meter_flags == [], (charger.identity, tx.meter_flags)
            assert tx.cost_minor == (metered * FEE_ORE_PER_KWH + 500) // 1000
            stored = s.scalars(select(MeterValue.value).where(MeterValue.transaction_id == tx.id)
                               .order_by(MeterValue.timestamp)).all()
            assert [int(v) for v in stored] == session.readings, charger.identity  # each reading once
            metered_total += metered
            billed_total += tx.energy_wh
        assert s.scalar(select(func.count(Transaction.id)).where(Transaction.cost_minor.is_(None))) == 0
    assert billed_total == metered_total


async def _deliver_all(chargers: list[QueueingCharger], fault, at_fraction: float) -> None:
    """Deliver every queue; run `fault` once the given fraction of all messages was acknowledged."""
    total = sum(len(c.queue) for c in chargers)
    tasks = [asyncio.create_task(c.deliver()) for c in chargers]
    try:
        while sum(len(c.acknowledged) for c in chargers) < total * at_fraction:
            if all(t.done() for t in tasks):
                break
            await asyncio.sleep(0.005)
        await fault()
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*[c.close() for c in chargers], return_exceptions=True)


def test_node_sigkilled_with_20_sessions_running_every_session_is_billed_once(db, env, fleet):
    identities, tag = fleet(20)
    with Stack(env) as stack:
        node = stack.ocpp_node("fault-kill")  # on a free port (started again elsewhere if it was taken)
        port = node.port  # the restarted node comes back on the same one
        chargers = [QueueingCharger(node.url, identity, CHARGER_SECRET, pause_s=0.01) for identity in identities]
        plan_sessions(chargers, tag)

        total = sum(len(c.queue) for c in chargers)
        at_kill: list[int] = []

        async def kill_and_restart() -> None:
            at_kill.append(sum(len(c.acknowledged) for c in chargers))
            await asyncio.to_thread(node.kill)
            stack.add(await asyncio.to_thread(start_ocpp_node, env, "fault-kill-2", port=port))

        run(_deliver_all(chargers, kill_and_restart, at_fraction=0.4), timeout=150)
    assert node.returncode == -9 and 0 < at_kill[0] < total  # killed with sessions half way
    assert sum(c.reconnects for c in chargers) >= 2 * len(chargers)  # every charger came back
    assert_ledger(db, chargers)


class DatabaseOutage:
    """Make the database unavailable for real: PostgreSQL refuses connections (and drops the open
    ones); SQLite is write-locked by another connection (what a stuck process does to it)."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self._release = threading.Event()
        self._thread: threading.Thread | None = None

    def begin(self) -> None:
        if self.url.startswith("postgresql"):
            self._pg(False)
        else:
            held = threading.Event()
            self._thread = threading.Thread(target=self._sqlite_lock, args=(held,), daemon=True)
            self._thread.start()
            assert held.wait(10)

    def end(self) -> None:
        if self.url.startswith("postgresql"):
            self._pg(True)
        else:
            self._release.set()
            self._thread.join(10)

    def _pg(self, allow: bool) -> None:
        base, name = self.url.rsplit("/", 1)
        admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://") + "/postgres",
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(allow).lower()}'))
            if not allow:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
        admin.dispose()

    def _sqlite_lock(self, held: threading.Event) -> None:
        engine = create_engine(self.url)
        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            held.set()
            self._release.wait(OUTAGE_S + 30)
            conn.rollback()
        engine.dispose()


def test_database_unavailable_while_sessions_run_loses_nothing_acknowledged(db, database_url, env, fleet):
    identities, tag = fleet(11)
    identities, idle_identity = identities[:10], identities[10]
    outage = DatabaseOutage(database_url)
    during: dict[str, int] = {}
    with Stack(env) as stack:
        node = stack.ocpp_node("fault-db")
        chargers = [QueueingCharger(node.url, identity, CHARGER_SECRET, pause_s=0.05) for identity in identities]
        plan_sessions(chargers, tag)
        idle = QueueingCharger(node.url, idle_identity, CHARGER_SECRET)

        async def database_away() -> None:
            acked_before = sum(len(c.acknowledged) for c in chargers)
            await idle.heartbeat()  # connected before the outage
            await asyncio.to_thread(outage.begin)
            try:
                heartbeats = [await idle.heartbeat() for _ in range(3)]  # answered even now
                await asyncio.sleep(OUTAGE_S)
                during["acked"] = sum(len(c.acknowledged) for c in chargers) - acked_before
                during["heartbeats"] = sum(1 for h in heartbeats if h and h[0] == 3)
            finally:
                await asyncio.to_thread(outage.end)
                await idle.close()

        run(_deliver_all(chargers, database_away, at_fraction=0.25), timeout=OUTAGE_S + 150)
    assert during["heartbeats"] == 3
    assert sum(c.retries for c in chargers) > 0  # the node said InternalError and the chargers resent
    assert_ledger(db, chargers)


def test_redis_restarted_during_remote_starts(app_config, db, database_url, session, login, monkeypatch):
    from portal import create_app

    monkeypatch.setenv("OCPP_CLAIM_TTL_S", "3")
    site = make_site(session)
    group, plan = standard_setup(session, site, "2.50")
    user = make_user(session, site=site)
    subscribe(session, user, plan)
    cp = make_charge_point(session, site, "CP-REDIS", connectors=2, group=group, online=False)
    session.commit()
    redis = RedisServer()
    app = create_app({**app_config, "REDIS_URL": redis.url})
    client = browser_like_client(app)
    login(client, user)

    def tap(connector: int) -> tuple[int, str]:
        reply = client.post(f"/c/{cp.identity}/start", data={"connector": str(connector)})
        return reply.status_code, reply.headers.get("Location", "")

    async def scenario():
        async with ocpp_node(db, redis.url) as node:
            async with simulator(node, cp.identity, connectors=2, meter_interval=1) as sim:
                await eventually(db, lambda s: Redis.from_url(redis.url).get(claim_key(cp.identity)))
                code, first = await asyncio.to_thread(tap, 1)
                first_id = int(first.rsplit("/", 1)[-1])
                assert await asyncio.to_thread(run_action, first_id, database_url, redis.url) == "accepted"
                tx = await eventually(db, lambda s: s.scalar(select(Transaction).where(Transaction.status == "active")))

                await asyncio.to_thread(redis.kill)
                page = await asyncio.to_thread(client.get, f"/c/{cp.identity}")
                code, busy = await asyncio.to_thread(tap, 2)
                live = await asyncio.to_thread(client.get, busy)
                readings_before = await _readings(db, tx.id)
                await eventually(db, lambda s: s.scalar(select(func.count(MeterValue.id)).where(
                    MeterValue.transaction_id == tx.id)) > readings_before)  # metering goes on without Redis

                await asyncio.to_thread(redis.restart)
                await eventually(db, lambda s: Redis.from_url(redis.url).get(claim_key(cp.identity)))
                code_again, again = await asyncio.to_thread(tap, 2)
                second_id = int(again.split("?")[0].rsplit("/", 1)[-1])
                result = await asyncio.to_thread(run_action, second_id, database_url, redis.url)
                await eventually(db, lambda s: s.scalar(select(func.count(Transaction.id)).where(
                    Transaction.status == "active")) == 2)
                return page, code, busy, live, again, first_id, second_id, result, sim.calls_received

    try:
        page, code, busy, live, again, first_id, second_id, result, calls = run(scenario(), timeout=90)
    finally:
        redis.stop()
    assert page.status_code == 200 and code == 303 and "busy=1" in busy
    assert "try again" in live.get_data(as_text=True)
    assert busy.split("?")[0] == again.split("?")[0]  # the kept request, not a second one
    assert result == "accepted"
    starts = [c for c in calls if c[0] == "RemoteStartTransaction"]
    assert len(starts) == 2
    with db.session() as s:
        assert s.scalar(select(func.count(ActionRequest.id))) == 2
        assert {r.state for r in s.scalars(select(ActionRequest))} == {"accepted"}


async def _readings(db, tx_id: int) -> int:
    def count():
        with db.session() as s:
            return s.scalar(select(func.count(MeterValue.id)).where(MeterValue.transaction_id == tx_id))
    return await asyncio.to_thread(count)
