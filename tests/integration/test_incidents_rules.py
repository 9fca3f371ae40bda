"""Issue 20: the time-based rules with a simulated charger (suspended too long, silent past its
heartbeats) and the failed-starts rule; a site's automatic soft reset, never during a session."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import func, select

from ocpp_server import sim_faults
from portal import settings
from portal.db import utcnow
from portal.models import (
    ActionRequest, ChargePoint, ChargerConnectionChange, Incident, IncidentStep, SiteFaultSettings, Transaction,
)
from portal.services.ocpp_ingest import missed_heartbeats
from tests.factories import resident_with_access
from tests.integration.ocpp_helpers import eventually, ocpp_node, query, run, simulator
from worker.jobs.faults import evaluate_faults


@pytest.fixture
def charger(session):
    site, user, cp = resident_with_access(session)
    session.add(SiteFaultSettings(site_id=site.id, suspended_after_s=120, auto_soft_reset=True))
    session.commit()
    return site.id, cp.identity, cp.id, user.id


async def _evaluate(database_url, redis_url, at):
    return await asyncio.to_thread(evaluate_faults, database_url, redis_url, at)


def _incidents(s):
    return s.scalars(select(Incident).order_by(Incident.id)).all()


def test_suspended_past_the_site_threshold_opens_and_one_automatic_soft_reset(
        db, redis_url, database_url, charger):
    _site_id, identity, cp_id, _user = charger
    Queue(settings.CHARGER_QUEUE, connection=Redis.from_url(redis_url)).empty()

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, identity) as sim:
                await sim_faults.suspend(sim, 1)
                await eventually(db, lambda s: s.get(ChargePoint, cp_id).connector(1).status == "SuspendedEVSE")
                assert (await _evaluate(database_url, redis_url, utcnow() + timedelta(seconds=60)))["opened"] == []
                assert len((await _evaluate(database_url, redis_url, utcnow() + timedelta(seconds=130)))["opened"]) == 1
                await _evaluate(database_url, redis_url, utcnow() + timedelta(seconds=200))
                found = await query(db, _incidents)
                assert [(i.cause, i.scope, i.connector_id) for i in found] == [("suspended_evse", "connector", 1)]
                step = await query(db, lambda s: s.scalars(select(IncidentStep)).one())
                action = await query(db, lambda s: s.get(ActionRequest, step.action_request_id))
                assert step.automatic and (action.action, action.payload) == ("Reset", {"type": "Soft"})
                assert Queue(settings.CHARGER_QUEUE, connection=Redis.from_url(redis_url)).count == 1

    run(scenario(), timeout=60)


def test_no_automatic_reset_while_a_session_runs(db, redis_url, database_url, charger, session):
    _site_id, identity, cp_id, user_id = charger
    session.add(Transaction(charge_point_id=cp_id, connector_id=1, id_tag="X", user_id=user_id, status="active",
                            start_key="running", meter_start_wh=0, started_at=utcnow()))
    session.commit()

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, identity) as sim:
                await sim.fault(1, "InternalError")
                await eventually(db, lambda s: s.get(ChargePoint, cp_id).connector(1).status == "Faulted")
                assert len((await _evaluate(database_url, redis_url, utcnow() + timedelta(seconds=5)))["opened"]) == 1
                assert await query(db, lambda s: s.scalar(select(func.count()).select_from(IncidentStep))) == 0

    run(scenario(), timeout=60)


def test_a_silent_charger_goes_offline_past_three_heartbeats_and_recovers(db, redis_url, database_url, charger):
    _site_id, identity, cp_id, _user = charger

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, identity) as sim:
                await sim_faults.go_silent(sim)
                interval = await query(db, lambda s: s.get(ChargePoint, cp_id).heartbeat_interval)
                await asyncio.sleep(2.5)  # past the node's last-seen write
                marked = await query(db, lambda s: (missed_heartbeats(s, utcnow() + timedelta(seconds=2.5 * interval)),
                                                    s.commit())[0])
                assert marked == [identity]
                assert (await _evaluate(database_url, redis_url, utcnow() + timedelta(seconds=2.5 * interval)))[
                    "opened"] == []  # not yet three intervals
                opened = await _evaluate(database_url, redis_url, utcnow() + timedelta(seconds=3.5 * interval))
                assert len(opened["opened"]) == 1
                incident = (await query(db, _incidents))[0]
                assert (incident.cause, incident.scope) == ("offline", "charger")
                states = await query(db, lambda s: s.scalars(select(ChargerConnectionChange.state)
                                                             .order_by(ChargerConnectionChange.id)).all())
                assert states == ["connected", "offline"]
                await sim_faults.recover(sim)
                await eventually(db, lambda s: s.get(ChargePoint, cp_id).online)
                done = await _evaluate(database_url, redis_url, utcnow() + timedelta(hours=1))
                assert done["resolved"] == [incident.id]

    run(scenario(), timeout=60)


def test_repeated_failed_starts_make_one_incident(db, redis_url, database_url, charger, session):
    _site_id, identity, cp_id, user_id = charger
    now = utcnow()
    for n in range(2):
        session.add(ActionRequest(charge_point_id=cp_id, connector_id=1, action="RemoteStartTransaction",
                                  state="rejected", payload={}, created_at=now - timedelta(minutes=10 - n)))
    session.add(Transaction(charge_point_id=cp_id, connector_id=1, id_tag="X", user_id=user_id, status="completed",
                            start_key="short", meter_start_wh=5, meter_stop_wh=5, energy_wh=0,
                            started_at=now - timedelta(minutes=5), stopped_at=now - timedelta(minutes=5, seconds=-20)))
    session.commit()
    first = evaluate_faults(database_url, redis_url, now)
    again = evaluate_faults(database_url, redis_url, now + timedelta(minutes=1))
    assert len(first["opened"]) == 1 and again["opened"] == []
    with db.session() as s:
        incident = s.scalars(select(Incident)).one()
        assert (incident.cause, incident.events, incident.connector_id) == ("failed_starts", 3, 1)
