"""Disabling a charger on the site page reaches a simulated charger over real OCPP, and starting is refused.

Runs the real stack (OCPP node, RQ worker, simulator) around the in-process web app.
"""
from sqlalchemy import select

from portal.models import ActionRequest, ChargePoint, OcppMessage
from portal.services.charging import access
from tests.factories import CHARGER_SECRET, make_site, make_user, standard_setup, subscribe
from tests.support.stack import Stack, wait_for_db


def test_disable_sends_change_availability_and_the_start_screen_refuses(client, login, session, db,
                                                                          database_url, redis_url):
    site = make_site(session, "stack-site")
    board = make_user(session, "board@stack.test", site=site, role="board")
    group, plan = standard_setup(session, site)
    resident = make_user(session, "resident@stack.test", site=site)
    subscribe(session, resident, plan)
    from portal.services.sites.onboarding import add_charge_point
    cp = add_charge_point(session, "CP-STACK-1", site, CHARGER_SECRET, 2)
    cp.tariff_group_id = group.id
    session.commit()
    cp_id = cp.id

    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    with Stack(env) as stack:
        node = stack.ocpp_node("site-node")
        stack.worker()
        stack.simulator(node.url, "CP-STACK-1", CHARGER_SECRET, connectors=2)
        wait_for_db(db, lambda s: s.get(ChargePoint, cp_id).online and all(
            c.status == "Available" for c in s.get(ChargePoint, cp_id).outlets))

        login(client, board)
        response = client.post(f"/manage/stack-site/chargers/{cp_id}", data={
            "name": "Garage", "status": "disabled", "cp_type": "private", "tariff_group_id": str(group.id),
            "owner_email": ""})
        assert response.status_code == 303

        action = wait_for_db(db, lambda s: s.scalar(select(ActionRequest).where(
            ActionRequest.charge_point_id == cp_id, ActionRequest.state == "accepted")),
            describe=lambda s: [(a.action, a.state, a.error) for a in s.scalars(select(ActionRequest))])
        assert action.action == "ChangeAvailability"
        wait_for_db(db, lambda s: s.scalar(select(OcppMessage.id).where(
            OcppMessage.identity == "CP-STACK-1", OcppMessage.direction == "out",
            OcppMessage.action == "ChangeAvailability")))
        wait_for_db(db, lambda s: all(c.status == "Unavailable" for c in s.get(ChargePoint, cp_id).outlets))

        with db.session() as s:
            decision = access.start_decision(s, s.get(type(resident), resident.id), s.get(ChargePoint, cp_id),
                                             connector_id=1)
            assert (decision.allowed, decision.reason) == (False, "disabled")
        login(client, resident)
        page = client.get("/c/CP-STACK-1")
        if page.status_code != 404:  # the start screen belongs to the resident pages
            text = page.get_data(as_text=True).lower()
            assert page.status_code == 200
            assert any(word in text for word in ("disabled", "unavailable", "not available"))
