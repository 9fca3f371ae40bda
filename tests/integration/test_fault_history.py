"""Issue 20, part 1: the history holds one row per change of a connector's status and of a charger's
connection, an older report finds its place in time, retention keeps the row in force; and two
evaluations seeing one fault at once make one incident."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from portal.models import ChargePoint, ChargerConnectionChange, ConnectorStatusChange, Incident
from portal.services import ocpp_ingest
from portal.services.faults import history
from portal.services.faults import incidents as inc
from tests.factories import make_charge_point, make_site

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def _status(session, cp, status, at, error="NoError", now=None, **kw):
    ocpp_ingest.status_notification(session, cp.identity, connector_id=1, status=status, error_code=error,
                                    info=kw.get("info"), vendor_error_code=kw.get("vendor"), timestamp=at,
                                    now=now or at + timedelta(seconds=1))
    session.flush()


def _rows(session, cp):
    return [(r.status, r.error_code, r.at) for r in session.scalars(
        select(ConnectorStatusChange).where(ConnectorStatusChange.charge_point_id == cp.id,
                                            ConnectorStatusChange.connector_id == 1)
        .order_by(ConnectorStatusChange.at, ConnectorStatusChange.id))]


def test_one_row_per_change_and_an_older_report_in_its_place(session):
    cp = make_charge_point(session, make_site(session))
    _status(session, cp, "Available", T0)
    _status(session, cp, "Available", T0 + timedelta(minutes=1))  # the same again: no row
    _status(session, cp, "Faulted", T0 + timedelta(minutes=2), "GroundFailure", vendor="E42", info="earth")
    _status(session, cp, "Available", T0 + timedelta(minutes=10))
    assert [r[0] for r in _rows(session, cp)] == ["Available", "Faulted", "Available"]
    row = session.scalars(select(ConnectorStatusChange).where(ConnectorStatusChange.status == "Faulted")).one()
    assert (row.error_code, row.vendor_error_code, row.info) == ("GroundFailure", "E42", "earth")
    # queued while offline, arriving late: it enters the history at its own time, not the current state
    _status(session, cp, "Charging", T0 + timedelta(minutes=5), now=T0 + timedelta(minutes=11))
    assert [r[0] for r in _rows(session, cp)] == ["Available", "Faulted", "Charging", "Available"]
    assert session.get(ChargePoint, cp.id).connector(1).status == "Available"
    # an older report that changes nothing of what held then adds nothing
    _status(session, cp, "Charging", T0 + timedelta(minutes=6), now=T0 + timedelta(minutes=12))
    assert len(_rows(session, cp)) == 4


def test_connection_changes_once_each(session):
    cp = make_charge_point(session, make_site(session), online=False)
    ocpp_ingest.connected(session, cp.identity, "node-1", T0)
    ocpp_ingest.connected(session, cp.identity, "node-1", T0 + timedelta(seconds=5))  # no change
    ocpp_ingest.disconnected(session, cp.identity, "node-1", T0 + timedelta(minutes=1))
    ocpp_ingest.connected(session, cp.identity, "node-1", T0 + timedelta(minutes=2))
    session.flush()
    ocpp_ingest.missed_heartbeats(session, T0 + timedelta(hours=1))  # silent: offline
    ocpp_ingest.mark_seen(session, "node-1", {cp.identity: T0 + timedelta(hours=2)})  # talking again
    session.expire_all()  # the UPDATE went past the ORM (as in the job, which opens its own session)
    history.back_from_silence(session)
    ocpp_ingest.node_stopped(session, "node-1", T0 + timedelta(hours=3))
    session.flush()
    states = [(r.state, r.at) for r in session.scalars(select(ChargerConnectionChange).order_by(ChargerConnectionChange.id))]
    assert [s for s, _ in states] == ["connected", "disconnected", "connected", "offline", "connected", "disconnected"]
    assert states[3][1] == T0 + timedelta(minutes=2, seconds=cp.heartbeat_interval)  # silent from the missed beat
    assert states[4][1] == T0 + timedelta(hours=2)


def test_retention_keeps_the_row_in_force_at_the_cut_off(session):
    cp = make_charge_point(session, make_site(session))
    for days, status in ((500, "Available"), (450, "Faulted"), (420, "Available"), (10, "Charging")):
        history.status_changed(session, cp, 1, status, "NoError", None, None, T0 - timedelta(days=days))
    session.flush()
    assert history.purge(session, T0, 400) == 2
    assert [r[0] for r in _rows(session, cp)] == ["Available", "Charging"]


def test_two_evaluations_at_once_make_one_incident(db, session, monkeypatch):
    site = make_site(session)
    cp = make_charge_point(session, site)
    session.commit()
    where, seen = inc.Where(site.id, cp.id, 1), inc.Seen(T0, T0, 1, "GroundFailure")
    with db.session() as first:
        winner, created = inc.report(first, where, "faulted", seen, T0)
        first.commit()
        winner_id = winner.id
    assert created
    real_current, calls = inc.current, []

    def late_look(s, w, c):  # the second worker looked before the first one committed
        calls.append(1)
        return None if len(calls) == 1 else real_current(s, w, c)

    monkeypatch.setattr(inc, "current", late_look)
    with db.session() as second:
        loser, created = inc.report(second, where, "faulted", inc.Seen(T0, T0 + timedelta(seconds=3), 2), T0)
        second.commit()
        assert not created and loser.id == winner_id and loser.events == 2
    assert len(session.scalars(select(Incident)).all()) == 1
