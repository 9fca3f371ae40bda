"""A hung or locked database: chargers' transaction messages fail fast (and are retried), the node says so."""
from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select, text

from portal.db import Database
from portal.models import Transaction
from portal.services.sites.onboarding import virtual_tag
from tests.factories import resident_with_access
from tests.integration.ocpp_helpers import ocpp_node, raw_charger, run


@pytest.fixture
def setup(session):
    site, user, cp = resident_with_access(session)
    tag = virtual_tag(session, user).tag
    session.commit()
    return cp.identity, tag


class HeldLock:
    """Another client holding a write lock on the database (a stuck migration, a long report)."""

    def __init__(self, database_url: str) -> None:
        self.db = Database.from_url(database_url)
        self.release = threading.Event()
        self.held = threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        with self.db.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("BEGIN"))
                conn.execute(text("LOCK TABLE transactions, charge_points IN ACCESS EXCLUSIVE MODE"))
            else:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            self.held.set()
            self.release.wait(60)
            conn.rollback()

    def __enter__(self):
        self.thread.start()
        assert self.held.wait(10)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(10)
        self.db.dispose()


def _health(node) -> tuple[int, dict]:
    url = node.url.replace("ws://", "http://").replace("/ocpp", "/healthz")
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_locked_database_makes_a_start_fail_fast_and_the_retry_succeeds(database_url, db, redis_url, setup):
    identity, tag = setup
    node_db = Database.from_url(database_url, statement_timeout_s=1)
    start = {"connectorId": 1, "idTag": tag, "meterStart": 1_000,
             "timestamp": datetime.now(timezone.utc).replace(microsecond=0).isoformat()}

    async def scenario():
        async with ocpp_node(node_db, redis_url) as node:
            async with raw_charger(node, identity) as raw:
                assert (await raw.call("Heartbeat", {}))[0] == 3  # the node has registered the socket
                with HeldLock(database_url):
                    refused = await raw.call("StartTransaction", start)  # raw.reply waits at most 5 s
                    health_during = await asyncio.to_thread(_health, node)
                retried = await raw.call("StartTransaction", start)
                health_after = await asyncio.to_thread(_health, node)
                return refused, health_during, retried, health_after

    try:
        refused, health_during, retried, health_after = run(scenario(), timeout=60)
    finally:
        node_db.dispose()
    assert refused[0] == 4 and refused[2] == "InternalError"
    assert health_during[0] == 503 and health_during[1]["database_failing"] and health_during[1]["database_errors"] >= 1
    assert retried[0] == 3 and retried[2]["idTagInfo"]["status"] == "Accepted"
    assert health_after[0] == 200 and not health_after[1]["database_failing"]
    with db.session() as s:
        assert s.scalar(select(func.count(Transaction.id))) == 1
