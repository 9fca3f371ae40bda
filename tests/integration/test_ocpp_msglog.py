"""The message log never blocks and never grows without bound: frames the database refuses, database away."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime

import pytest
from sqlalchemy import func, select

from ocpp_server.msglog import MessageLog
from portal.db import Database
from portal.models import OcppMessage
from tests.factories import make_charge_point, make_site
from tests.integration.ocpp_helpers import eventually, ocpp_node, raw_charger, run


@pytest.fixture
def identity(session):
    cp = make_charge_point(session, make_site(session))
    session.commit()
    return cp.identity


def test_frames_the_database_cannot_store_never_block_the_log(db, redis_url, identity):
    """A NUL character and a message type beyond any integer column: the frames around them are logged."""
    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, identity) as raw:
                assert (await raw.send_raw('[2, "nul\x00id", "Heartbeat", {}]'))[0] == 4
                assert (await raw.send_raw('[99999999999999999999999, "big", "Heartbeat", {}]'))[0] == 4
                assert (await raw.send_raw(json.dumps([2, "after", "Heartbeat", {}])))[0] == 3
                await eventually(db, lambda s: s.scalar(select(OcppMessage.id).where(
                    OcppMessage.unique_id == "after", OcppMessage.direction == "out")))
                return node.msglog.stats()

    stats = run(scenario())
    assert stats["buffered"] == 0
    with db.session() as s:
        frames = s.scalars(select(OcppMessage.frame).where(OcppMessage.direction == "in")).all()
        assert any("nul\ufffdid" in f for f in frames) and any("99999999999999999999999" in f for f in frames)


def test_a_batch_with_a_frame_the_database_refuses_is_written_without_it(db):
    log = MessageLog(db)
    log.record("CP-A", "in", '[2, "one", "Heartbeat", {}]')
    log.record("CP-A", "in", '[2, "poison", "Heartbeat", {}]', at=datetime(2026, 1, 1))  # naive: refused
    log.record("CP-A", "in", '[2, "two", "Heartbeat", {}]')
    asyncio.run(log.flush())
    asyncio.run(log.flush())  # nothing left to replay
    with db.session() as s:
        assert sorted(s.scalars(select(OcppMessage.unique_id))) == ["one", "two"]
    assert log.stats() == {"buffered": 0, "buffered_bytes": 0, "dropped": 0, "quarantined": 1, "over_budget": 0}


def test_the_buffer_is_capped_in_bytes_while_the_database_is_away():
    away = Database.from_url("postgresql://nobody@127.0.0.1:1/none")
    log = MessageLog(away, max_buffer_bytes=10_000)
    frames = [json.dumps([2, f"m{i}", "DataTransfer", {"vendorId": "v", "data": "x" * 950}]) for i in range(100)]
    for frame in frames:
        log.record("CP-A", "in", frame)
    with pytest.raises(Exception):
        asyncio.run(log.flush())
    stats = log.stats()
    assert stats["buffered_bytes"] <= 10_000 and stats["dropped"] == 100 - stats["buffered"] > 80
    assert [r["unique_id"] for r in log._pending][-1] == "m99"  # the newest are kept
    away.dispose()


def test_frames_logged_while_the_database_was_away_are_written_when_it_returns(db):
    log = MessageLog(db)
    real_write = log._write
    calls = {"n": 0}

    def flaky(batch):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("database away")
        real_write(batch)

    log._write = flaky
    for i in range(3):
        log.record("CP-A", "in", json.dumps([2, f"k{i}", "Heartbeat", {}]))
    with pytest.raises(ConnectionError):
        asyncio.run(log.flush())
    asyncio.run(log.flush())
    with db.session() as s:
        assert s.scalar(select(func.count(OcppMessage.id))) == 3
