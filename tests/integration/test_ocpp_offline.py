"""Offline detection: socket closed (node) and missed heartbeats (job); message-log retention."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from ocpp_server.msglog import purge_old_messages
from portal.db import utcnow
from portal.models import ChargePoint, OcppMessage
from tests.factories import make_charge_point, make_site
from tests.integration.ocpp_helpers import eventually, ocpp_node, query, raw_charger, run
from worker.jobs.message_log import purge_message_log
from worker.jobs.offline import mark_offline_chargers


def _cp(identity):
    return lambda s: s.scalar(select(ChargePoint).where(ChargePoint.identity == identity))


async def until_marked(database_url: str, timeout: float) -> list[str]:
    """Run the missed-heartbeat job (two intervals' grace) until it marks someone; returns whom."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (marked := await asyncio.to_thread(mark_offline_chargers, database_url, 2.0, 0)):
        assert asyncio.get_running_loop().time() < deadline, f"nobody marked offline in {timeout}s"
        await asyncio.sleep(0.2)
    return marked


def test_missed_heartbeats_mark_offline_and_a_message_brings_it_back(db, database_url, redis_url, session):
    make_charge_point(session, make_site(session), "CP-SILENT", online=False, heartbeat_interval=1)
    make_charge_point(session, make_site(session), "CP-NEVER", online=True)  # online but never seen
    session.commit()

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, "CP-SILENT") as raw:
                loop = asyncio.get_running_loop()
                booted = loop.time()
                reply = await raw.call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
                assert reply[2]["interval"] == 1
                # five intervals' grace: a charger heard a moment ago is never marked, however busy the machine
                assert await asyncio.to_thread(mark_offline_chargers, database_url, 5.0, 0) == ["CP-NEVER"]
                # the charger stays silent: the job (two intervals' grace) marks it once two seconds have passed
                marked = await until_marked(database_url, timeout=30)
                assert marked == ["CP-SILENT"] and loop.time() - booted >= 2.0 - 0.1
                assert not (await query(db, _cp("CP-SILENT"))).online
                await raw.call("Heartbeat", {})
                cp = await eventually(db, lambda s: (c := _cp("CP-SILENT")(s)).online and c)  # next last-seen batch
                assert cp.offline_since is None

    run(scenario())


def test_node_shutdown_marks_its_chargers_offline(db, redis_url, session):
    make_charge_point(session, make_site(session), "CP-BYE", online=False)
    session.commit()

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, "CP-BYE"):
                await eventually(db, lambda s: _cp("CP-BYE")(s).online)
                node.connections.clear()  # simulate a crash: the socket's finally never ran
        cp = await query(db, _cp("CP-BYE"))
        assert not cp.online and cp.connected_node is None

    run(scenario())


def test_message_log_retention(db, database_url, session):
    now = utcnow()
    for age in (40, 31, 29, 0):
        session.add(OcppMessage(identity="CP-X", direction="in", frame="[]", created_at=now - timedelta(days=age)))
    session.commit()
    assert purge_old_messages(session, 30, now) == 2
    session.commit()
    assert purge_message_log(database_url, retention_days=10) == 1
    assert session.scalar(select(OcppMessage.id).where(OcppMessage.created_at < now - timedelta(days=1))) is None
