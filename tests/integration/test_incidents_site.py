"""Issue 20: every simulated charger of a site cut off at once makes one site incident and one e-mail per
resident and board member (in their language), and one more when they are back; a charger flapping
between Faulted and Available makes one incident, not hundreds."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from ocpp_server import sim_faults
from portal.db import utcnow
from portal.models import ChargePoint, ConnectorStatusChange, Incident, SupportTicket
from tests.factories import make_charge_point, make_site, make_user, resident_with_access
from tests.integration.ocpp_helpers import eventually, ocpp_node, query, run, simulator
from tests.support.mail import run_mail_jobs
from worker.jobs.faults import evaluate_faults


@pytest.fixture
def site(session):
    site, resident, cp = resident_with_access(session)
    second = make_charge_point(session, site)
    make_user(session, "board@example.test", site=site, role="board", language="sv")
    make_user(session, "other@example.test", site=make_site(session))
    session.commit()
    return site.id, [cp.identity, second.identity], resident.email


async def _evaluate(database_url, redis_url, at):
    return await asyncio.to_thread(evaluate_faults, database_url, redis_url, at)


def _incidents_at(site_id):
    """This test's incidents (the run's database holds other tests' sites and chargers too)."""
    return lambda s: s.scalars(select(Incident).where(Incident.site_id == site_id).order_by(Incident.id)).all()


def test_a_whole_site_dark_is_one_incident_and_one_mail_each_then_one_when_back(
        db, redis_url, database_url, site, smtp, monkeypatch):
    site_id, identities, resident_email = site
    _incidents = _incidents_at(site_id)
    monkeypatch.setenv("INCIDENT_RECOVERY_AFTER_S", "60")

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, identities[0]) as one, simulator(node, identities[1]) as two:
                await sim_faults.go_offline(one)
                await sim_faults.go_offline(two)
                await eventually(db, lambda s: s.scalar(select(func.count()).select_from(ChargePoint)
                                                        .where(
                    ChargePoint.site_id == site_id, ChargePoint.online.is_(False))) == 2)
                for minutes in (5, 6, 30):  # offline long past three heartbeats, evaluated again and again
                    await _evaluate(database_url, redis_url, utcnow() + timedelta(minutes=minutes))
                found = await query(db, _incidents)
                assert [(i.scope, i.cause, i.info) for i in found] == [("site", "site_dark", "all_at_once")]
                assert found[0].ticket_id is not None
                run_mail_jobs(redis_url)  # in this thread (RQ wants the main one); a short block
                mails = smtp.wait_for(2)
                assert sorted(m["To"] for m in mails) == sorted([resident_email, "board@example.test"])
                swedish = next(m for m in mails if m["To"] == "board@example.test")
                assert "offline" in swedish["Subject"].lower() and "Laddarna" in swedish["Subject"]

                await sim_faults.recover(one)
                await sim_faults.recover(two)
                await eventually(db, lambda s: s.scalar(select(func.count()).select_from(ChargePoint)
                                                        .where(
                    ChargePoint.site_id == site_id, ChargePoint.online.is_(True))) == 2)
                await _evaluate(database_url, redis_url, utcnow() + timedelta(minutes=5))
                run_mail_jobs(redis_url)  # in this thread (RQ wants the main one); a short block
                mails = smtp.wait_for(4)
                assert len(mails) == 4 and sorted(m["To"] for m in mails[2:]) == sorted(
                    [resident_email, "board@example.test"])
                done = (await query(db, _incidents))[0]
                assert done.status == "resolved"
                ticket = await query(db, lambda s: s.get(SupportTicket, done.ticket_id))
                assert ticket.status == "resolved"

                # the site flaps: dark again soon after, a new incident, but no new round of e-mails
                await sim_faults.go_offline(one)
                await sim_faults.go_offline(two)
                await eventually(db, lambda s: s.scalar(select(func.count()).select_from(ChargePoint)
                                                        .where(
                    ChargePoint.site_id == site_id, ChargePoint.online.is_(False))) == 2)
                await _evaluate(database_url, redis_url, utcnow() + timedelta(minutes=10))
                assert [i.status for i in await query(db, _incidents)] == ["resolved", "open"]
                run_mail_jobs(redis_url)
        assert len(smtp.messages) == 4

    run(scenario(), timeout=90)


def test_a_flapping_charger_makes_one_incident(db, redis_url, database_url, site):
    site_id, identities, _email = site
    _incidents = _incidents_at(site_id)

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, identities[0]) as sim:
                for n in range(15):
                    await sim.fault(1, "OtherError")
                    await sim.clear_fault(1)
                    if n % 5 == 4:
                        await _evaluate(database_url, redis_url, utcnow() + timedelta(seconds=30))
                await eventually(db, lambda s: s.scalar(select(func.count()).select_from(ConnectorStatusChange).where(
                    ConnectorStatusChange.status == "Faulted")) == 15)
                await _evaluate(database_url, redis_url, utcnow() + timedelta(seconds=40))
                found = await query(db, _incidents)
                assert len(found) == 1 and found[0].events == 15
                tickets = await query(db, lambda s: s.scalar(select(func.count()).select_from(SupportTicket)))
                assert tickets == 1

    run(scenario(), timeout=90)
