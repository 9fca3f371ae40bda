"""Issue 20: a simulated charger (real node, real WebSocket) reports a fault; the rules (driven
directly, with their clock moved rather than waited for) make one incident and one ticket, recovery
resolves both, and a fault a day later is a new incident."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.db import utcnow
from portal.models import (
    ConnectorStatusChange, Incident, IncidentFollower, OutboxEmail, SupportTicket, TicketMessage,
)
from tests.factories import resident_with_access
from tests.integration.ocpp_helpers import eventually, ocpp_node, query, run, simulator
from worker.jobs.faults import evaluate_faults


@pytest.fixture
def charger(session):
    site, user, cp = resident_with_access(session)
    session.commit()
    return cp.identity, user.id, user.email, cp.id


# The run's database holds other tests' chargers, faults and incidents: everything here is this charger's.
def _faulted_rows_of(cp_id):
    return lambda s: s.scalar(select(func.count()).select_from(ConnectorStatusChange).where(
        ConnectorStatusChange.charge_point_id == cp_id, ConnectorStatusChange.status == "Faulted"))


def _incidents_of(cp_id):
    return lambda s: s.scalars(select(Incident).where(Incident.charge_point_id == cp_id).order_by(Incident.id)).all()


def _ours(incident_ids, incidents):
    """The ids among `incident_ids` (what one evaluation opened or resolved anywhere) of this charger."""
    mine = {i.id for i in incidents}
    return [i for i in incident_ids if i in mine]


async def _evaluate(database_url, redis_url, at):
    return await asyncio.to_thread(evaluate_faults, database_url, redis_url, at)


def test_fault_opens_one_incident_and_ticket_recovery_resolves_and_a_day_later_is_new(
        db, redis_url, database_url, charger, monkeypatch):
    charger, resident_id, resident_email, cp_id = charger
    _faulted_rows, _incidents = _faulted_rows_of(cp_id), _incidents_of(cp_id)
    monkeypatch.setenv("INCIDENT_RECOVERY_AFTER_S", "60")

    def me_too(s):
        s.add(IncidentFollower(incident_id=s.scalars(select(Incident.id).where(Incident.charge_point_id == cp_id)).one(), user_id=resident_id))
        s.commit()

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, charger) as sim:
                await sim.fault(1, "GroundFailure")
                await eventually(db, lambda s: _faulted_rows(s) == 1)
                first = await _evaluate(database_url, redis_url, utcnow() + timedelta(seconds=5))
                assert len(_ours(first["opened"], await query(db, _incidents))) == 1
                again = await _evaluate(database_url, redis_url, utcnow() + timedelta(seconds=10))
                assert _ours(again["opened"], await query(db, _incidents)) == []  # the same fault: the same incident
                incident = (await query(db, _incidents))[0]
                assert (incident.status, incident.cause, incident.scope) == ("open", "faulted", "connector")
                ticket = await query(db, lambda s: s.get(SupportTicket, incident.ticket_id))
                assert ticket.category == "charger_fault" and ticket.status == "new"
                body = await query(db, lambda s: s.scalars(select(TicketMessage.body).where(
                    TicketMessage.ticket_id == ticket.id)).first())
                assert "GroundFailure" in body and "jordfeil" in body.lower()  # the code in plain words (nb)
                assert "StatusNotification" in body or "–" in body

                await query(db, me_too)
                await sim.clear_fault(1)
                await eventually(db, lambda s: s.scalar(select(func.count()).select_from(ConnectorStatusChange)
                                                        .where(ConnectorStatusChange.connector_id == 1)) == 3)
                soon = await _evaluate(database_url, redis_url, utcnow() + timedelta(seconds=5))
                assert _ours(soon["resolved"], await query(db, _incidents)) == []
                assert (await query(db, _incidents))[0].status == "recovering"
                later = await _evaluate(database_url, redis_url, utcnow() + timedelta(seconds=120))
                assert _ours(later["resolved"], await query(db, _incidents)) == [incident.id]
                ticket = await query(db, lambda s: s.get(SupportTicket, incident.ticket_id))
                assert ticket.status == "resolved"
                last = await query(db, lambda s: s.scalars(select(TicketMessage).where(
                    TicketMessage.ticket_id == ticket.id).order_by(TicketMessage.id.desc())).first())
                assert last.author_role == "system"
                told = await query(db, lambda s: s.scalars(select(OutboxEmail).where(
                    OutboxEmail.kind == "incident_fixed")).all())
                assert [m.to_address for m in told] == [resident_email] and "cleared" in told[0].subject

                await asyncio.sleep(1.1)  # statuses carry whole seconds: the new fault is later than the old one's end
                await sim.fault(1, "HighTemperature")
                await eventually(db, lambda s: _faulted_rows(s) == 2)
                next_day = await _evaluate(database_url, redis_url, utcnow() + timedelta(days=1))
                assert len(_ours(next_day["opened"], await query(db, _incidents))) == 1
                both = await query(db, _incidents)
                assert [i.status for i in both] == ["resolved", "open"] and both[1].ticket_id != ticket.id
                assert both[1].error_code == "HighTemperature"
                old = await query(db, lambda s: s.get(SupportTicket, incident.ticket_id))
                assert old.status == "resolved"  # never reopened

    run(scenario(), timeout=60)
