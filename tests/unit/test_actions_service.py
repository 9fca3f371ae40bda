"""The actions service on its own: refusals, payloads, the state machine, hooks and the sweeper."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.db import utcnow
from portal.models import ActionRequest, Transaction
from portal.services.charging import actions
from portal.services.charging import action_hooks, action_queue
from portal.services.sites.onboarding import virtual_tag
from tests.factories import make_charge_point, make_user, resident_with_access


def _tx(session, cp, user, connector_id=1, id_tag=None):
    tx = Transaction(charge_point_id=cp.id, connector_id=connector_id, id_tag=id_tag or virtual_tag(session, user).tag,
                     user_id=user.id, start_key=f"k{utcnow().timestamp()}", meter_start_wh=1000, started_at=utcnow())
    session.add(tx)
    session.flush()
    return tx


def test_remote_start_uses_the_virtual_tag_and_is_queued(session):
    site, user, cp = resident_with_access(session)
    row = actions.request_remote_start(session, user, cp, None)
    assert row.state == "queued" and row.action == "RemoteStartTransaction"
    assert row.payload == {"idTag": virtual_tag(session, user).tag, "connectorId": 1}
    assert row.connector_id == 1 and row.requested_by_id == user.id
    assert row.deadline_at > utcnow()
    # a double tap gives the same request, not a second start
    assert actions.request_remote_start(session, user, cp, 1).id == row.id


@pytest.mark.parametrize("change, reason", [
    (lambda s, cp: setattr(cp, "online", False), "offline"),
    (lambda s, cp: setattr(cp, "enabled", False), "disabled"),
    (lambda s, cp: setattr(cp.connector(1), "status", "Charging"), "occupied"),
    (lambda s, cp: setattr(cp.connector(1), "status", "Faulted"), "faulted"),
])
def test_remote_start_refusals(session, change, reason):
    site, user, cp = resident_with_access(session)
    change(session, cp)
    session.flush()
    with pytest.raises(actions.ActionRefused) as exc:
        actions.request_remote_start(session, user, cp, 1)
    assert exc.value.reason == reason
    assert session.scalar(select(ActionRequest.id)) is None


def test_remote_start_without_site_access_is_refused(session):
    site, user, cp = resident_with_access(session)
    stranger = make_user(session)
    with pytest.raises(actions.ActionRefused) as exc:
        actions.request_remote_start(session, stranger, cp, 1)
    assert exc.value.reason == "no_access"


def test_remote_stop_owner_or_staff_only(session):
    site, user, cp = resident_with_access(session)
    tx = _tx(session, cp, user)
    with pytest.raises(actions.ActionRefused) as exc:
        actions.request_remote_stop(session, make_user(session, site=site), tx)
    assert exc.value.reason == "not_owner"
    row = actions.request_remote_stop(session, user, tx)
    assert row.payload == {"transactionId": tx.id} and row.transaction_id == tx.id
    assert actions.request_remote_stop(session, make_user(session, staff_role="support"), tx).id == row.id
    tx.status = "completed"
    with pytest.raises(actions.ActionRefused):
        actions.request_remote_stop(session, user, tx)


def test_availability_and_staff_actions(session):
    site, user, cp = resident_with_access(session)
    board = make_user(session, site=site, role="board")
    row = actions.request_availability(session, board, cp, False)
    assert row.payload == {"connectorId": 0, "type": "Inoperative"}
    with pytest.raises(actions.ActionRefused):
        actions.request_availability(session, user, cp, True)
    staff = make_user(session, staff_role="support")
    reset = actions.request_action(session, staff, cp, "Reset", {"type": "Soft"})
    assert reset.action == "Reset"
    unlock = actions.request_action(session, staff, cp, "UnlockConnector", {"connectorId": 1})
    assert unlock.connector_id == 1
    for who, action, payload, reason in [
        (user, "Reset", {"type": "Soft"}, "staff_only"),
        (staff, "UpdateFirmware", {}, "unknown_action"),
        (staff, "Reset", {"type": "Sideways"}, "invalid_payload"),
    ]:
        with pytest.raises(actions.ActionRefused) as exc:
            actions.request_action(session, who, cp, action, payload)
        assert exc.value.reason == reason


def test_claim_is_won_once_and_never_after_the_deadline(session):
    site, user, cp = resident_with_access(session)
    row = actions.request_remote_start(session, user, cp, 1)
    session.commit()
    assert actions.claim_for_sending(session, row.id) is True
    assert actions.claim_for_sending(session, row.id) is False  # a retried job: no second send
    assert actions.finish(session, row.id, "accepted", response={"status": "Accepted"})
    assert not actions.finish(session, row.id, "timed_out")  # final states stay
    late = actions.request_remote_start(session, user, cp, 1)
    late.deadline_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert actions.claim_for_sending(session, late.id) is False


def test_outcome_state():
    assert actions.outcome_state({"status": "Accepted"}) == "accepted"
    assert actions.outcome_state({"status": "Scheduled"}) == "accepted"
    assert actions.outcome_state({"status": "Unlocked"}) == "accepted"
    assert actions.outcome_state({"configurationKey": []}) == "accepted"
    assert actions.outcome_state({"status": "Rejected"}) == "rejected"
    assert actions.outcome_state({"status": "NotSupported"}) == "rejected"


def test_start_links_the_session_and_rescues_a_lost_answer(session):
    site, user, cp = resident_with_access(session)
    row = actions.request_remote_start(session, user, cp, 1)
    row.state = "timed_out"
    other_user = make_user(session, site=site)
    assert action_hooks.on_transaction_started(session, _tx(session, cp, other_user)) is None  # other tag
    tx = _tx(session, cp, user)
    assert action_hooks.on_transaction_started(session, tx).id == row.id
    assert (row.transaction_id, row.state) == (tx.id, "accepted")


def test_sweeper_closes_stuck_requests_and_flags_starts_that_never_began(session):
    site, user, cp = resident_with_access(session)
    cp2 = make_charge_point(session, site, group=cp.tariff_group)
    past = utcnow() - timedelta(minutes=5)
    sent = actions.request_remote_start(session, user, cp, 1)
    queued = actions.request_remote_start(session, user, cp2, 1)
    accepted = actions.create_action(session, charge_point=cp, action="RemoteStartTransaction",
                                     payload={"idTag": "X"}, requested_by=user, connector_id=1, holds=False)
    accepted.state, accepted.answered_at = "accepted", past  # an earlier start, answered
    sent.state, sent.deadline_at = "sent", past
    queued.deadline_at = past
    session.flush()
    counts = actions.sweep(session)
    assert counts == {"sent": 1, "queued": 1, "no_start": 1, "let_go": 0}
    assert not (sent.holds_connector or queued.holds_connector)
    assert (sent.state, queued.state) == ("timed_out", "timed_out")
    assert "at most once" in sent.error and "not sent" in queued.error
    assert accepted.no_start_flag and accepted.state == "accepted"


def test_autostart_on_plug_in_for_the_owner(session):
    site, user, cp = resident_with_access(session)
    assert action_hooks.on_connector_status(session, cp, 1, "Preparing") is None  # not a personal charger
    cp.cp_type, cp.owner_id, cp.auth_required = "personal", user.id, False
    cp.connector(1).status = "Preparing"
    session.flush()
    ids = action_hooks.on_connector_status(session, cp, 1, "Preparing")
    row = session.get(ActionRequest, ids[0])
    assert row.requested_by_id == user.id and row.payload["idTag"] == virtual_tag(session, user).tag
    assert action_hooks.on_connector_status(session, cp, 1, "Available") is None
    cp.auth_required = True
    assert action_hooks.on_connector_status(session, cp, 1, "Preparing") is None


def test_queue_unavailable_keeps_the_row(session):
    site, user, cp = resident_with_access(session)
    row = actions.request_remote_start(session, user, cp, 1)
    session.commit()
    with pytest.raises(actions.QueueUnavailable):
        action_queue.enqueue_action("redis://127.0.0.1:1/0", row.id)
    session.expire_all()
    assert session.get(ActionRequest, row.id).state == "queued"
    assert actions.retry_action(session, row).state == "queued"


@pytest.mark.parametrize("winner_is", ["neighbour", "same resident"])
def test_a_start_that_loses_the_race_for_the_outlet_lands_on_the_winning_request(db, session, winner_is):
    """Two taps between the holder check and the INSERT: the database keeps one request (the unique
    partial index); the loser's INSERT does nothing and it reads the winner's row. On SQLite the tap's
    first statement (the UPDATE letting go of stale holds) takes the write lock, so nobody can win
    between its check and its INSERT: there the competitor wins just before that UPDATE."""
    from sqlalchemy import event

    site, user, cp = resident_with_access(session)
    neighbour = make_user(session, site=site)
    virtual_tag(session, user)
    session.commit()
    tapper_id = neighbour.id if winner_is == "neighbour" else user.id
    engine = session.get_bind()
    race_point = "UPDATE action_requests" if engine.dialect.name == "sqlite" else "INSERT INTO action_requests"
    won = []

    def competing_tap(conn, cursor, statement, *rest) -> None:
        if statement.startswith(race_point) and not won:
            won.append(None)  # once: the competing tap's own INSERT passes by here too
            with db.session() as other:  # another web process wins the outlet just before us
                row = actions.create_action(other, charge_point=other.get(type(cp), cp.id), action=actions.START,
                                            payload={"connectorId": 1}, requested_by=other.get(type(user), tapper_id),
                                            connector_id=1)
                other.commit()
                won[0] = row.id

    event.listen(engine, "before_cursor_execute", competing_tap)
    try:
        if winner_is == "neighbour":
            with pytest.raises(actions.ActionRefused) as exc:
                actions.place_remote_start(session, user, cp.id, cp.identity, 1)
            assert exc.value.reason == "occupied"
        else:
            assert actions.place_remote_start(session, user, cp.id, cp.identity, 1) == won[0]
    finally:
        event.remove(engine, "before_cursor_execute", competing_tap)
    session.rollback()
    assert session.scalars(select(ActionRequest.id)).all() == won
