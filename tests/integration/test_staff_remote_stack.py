"""Staff remote actions on the real stack: the web console posts, the RQ worker process carries the call,
the OCPP node process sends it, and a simulated charger process answers over real OCPP.

Unlock, a configuration table, a secret rotation the charger accepts (and reconnects with), a triggered
BootNotification for a charger whose boot was rejected, and an offline charger's request retried."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.models import ActionRequest, ChargePoint, OcppMessage, Site
from portal.services.people.secrets import verify_secret
from tests.factories import CHARGER_SECRET, make_charge_point, make_site, make_user
from tests.support.stack import Stack, wait_for_db
from portal import settings

HX = {"HX-Request": "true"}
DEADLINE_S = 8
NEW_SECRET = "rotated-secret-for-sim-0042"


@pytest.fixture
def env(database_url, redis_url, monkeypatch):
    monkeypatch.setenv("ACTION_DEADLINE_S", str(DEADLINE_S))
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "ACTION_DEADLINE_S": str(DEADLINE_S),
            "OCPP_CLAIM_TTL_S": "3", "WORKER_PROCESSES": "1"}


@pytest.fixture
def console(session, client, login):
    site = make_site(session, "remote-site", name="Remote sameie")
    cp = make_charge_point(session, site, "CP-REMOTE-1", connectors=2, online=False, status="Unavailable")
    support = make_user(session, "remote-support@console.test", staff_role="support")
    session.commit()
    login(client, support)
    return {"site_id": site.id, "cp_id": cp.id, "identity": cp.identity}


def ask(client, identity, kind, **data):
    """The two steps of the console: check, then confirm; returns the new request's id."""
    url = f"/staff/chargers/{identity}/actions/{kind}"
    step = client.post(url, data=data, headers=HX)
    assert 'data-step="confirm"' in step.get_data(as_text=True), step.get_data(as_text=True)[:800]
    done = client.post(url, data=dict(data, confirmed="yes"), headers=HX)
    assert done.status_code == 204, done.get_data(as_text=True)[:800]
    return int(done.headers["HX-Redirect"].rsplit("/", 1)[1])


def final(db, action_id, timeout=30.0) -> ActionRequest:
    return wait_for_db(db, lambda s: (r := s.get(ActionRequest, action_id)).is_final and r, timeout)


def online(db, cp_id):
    wait_for_db(db, lambda s: (cp := s.get(ChargePoint, cp_id)).online and cp.boot_status == "Accepted"
             and all(c.status == "Available" for c in cp.outlets))


def test_unlock_configuration_and_secret_rotation(client, db, env, console):
    identity = console["identity"]
    with Stack(env) as stack:
        node = stack.ocpp_node("staff-node")
        stack.worker()
        sim = stack.simulator(node.url, identity, CHARGER_SECRET, connectors=2)
        online(db, console["cp_id"])

        unlock = final(db, ask(client, identity, "unlock", connector="2", reason="cable stuck"))
        assert unlock.state == "accepted" and unlock.response == {"status": "Unlocked"}
        frames = wait_for_db(db, lambda s: s.scalars(select(OcppMessage.frame).where(  # the log is written in batches
            OcppMessage.identity == identity, OcppMessage.action == "UnlockConnector")).all())
        assert '"connectorId":2' in frames[0].replace(" ", "")
        page = client.get(f"/staff/actions/{unlock.id}").get_data(as_text=True)
        assert 'data-state="accepted"' in page and "every 1s" not in page

        config = final(db, ask(client, identity, "get_config", keys="", reason="check settings"))
        assert config.state == "accepted"
        table = client.get(f"/staff/actions/{config.id}").get_data(as_text=True)
        assert 'data-testid="config-table"' in table and 'data-key="HeartbeatInterval"' in table
        assert 'data-key="AuthorizationKey"' not in table  # write-only on the charger

        rotation = ask(client, identity, "change_config", key="AuthorizationKey", reason="yearly rotation",
                       secret_choice="type", secret=NEW_SECRET, secret_again=NEW_SECRET)
        assert final(db, rotation).state == "accepted"
        wait_for_db(db, lambda s: s.scalar(select(OcppMessage.id).where(
            OcppMessage.identity == identity, OcppMessage.action == "ChangeConfiguration")))
        with db.session() as s:
            cp = s.get(ChargePoint, console["cp_id"])
            assert verify_secret(cp.secret_hash, NEW_SECRET) and not verify_secret(cp.secret_hash, CHARGER_SECRET)
            logged = " ".join(s.scalars(select(OcppMessage.frame).where(OcppMessage.identity == identity)))
            assert NEW_SECRET not in logged and '"AuthorizationKey"' in logged
        for proc in (node, sim):
            assert NEW_SECRET not in proc.output()  # the central system's own log
        # the charger now connects with the new secret: a reset drops and re-opens its connection
        reset = final(db, ask(client, identity, "reset", reset_type="Soft", reason="pick up the new key"))
        assert reset.state == "accepted"
        reset_at = wait_for_db(db, lambda s: s.scalar(select(OcppMessage.id).where(
            OcppMessage.identity == identity, OcppMessage.action == "Reset")))
        wait_for_db(db, lambda s: s.scalar(select(OcppMessage.id).where(
            OcppMessage.identity == identity, OcppMessage.action == "BootNotification", OcppMessage.id > reset_at)))
        online(db, console["cp_id"])


def test_trigger_boot_for_a_rejected_charger_and_retry_after_offline(client, db, env, console, session):
    identity = console["identity"]
    session.get(Site, console["site_id"]).agreement_status = "ended"
    session.commit()
    with Stack(env) as stack:
        stack.worker()
        offline = final(db, ask(client, identity, "reset", reset_type="Hard", reason="frozen"))
        assert offline.state == "charger_offline"
        page = client.get(f"/staff/actions/{offline.id}").get_data(as_text=True)
        assert "The charger is offline" in page and 'data-testid="retry-form"' in page

        node = stack.ocpp_node("staff-node-2")
        stack.simulator(node.url, identity, CHARGER_SECRET, connectors=2)
        wait_for_db(db, lambda s: s.get(ChargePoint, console["cp_id"]).boot_status == "Rejected")
        session.get(Site, console["site_id"]).agreement_status = "active"
        session.commit()
        trigger = final(db, ask(client, identity, "trigger", message="BootNotification", reason="agreement renewed"))
        assert trigger.state == "accepted"
        wait_for_db(db, lambda s: s.get(ChargePoint, console["cp_id"]).boot_status == "Accepted")

        again = client.post(f"/staff/actions/{offline.id}/retry", data={"reason": "back online"}, headers=HX)
        retried = final(db, int(again.headers["HX-Redirect"].rsplit("/", 1)[1]))
        assert retried.state == "accepted" and retried.payload == {"type": "Hard"}


def test_a_charger_that_took_the_new_key_while_its_answer_was_lost_can_still_connect(db, redis_url, session):
    """The rotation timed out (answer lost after sending); the charger reconnects with the new secret."""
    from portal.services.staff import remote
    from tests.integration.ocpp_helpers import eventually, ocpp_node, run, simulator

    site = make_site(session, "lost-answer")
    cp = make_charge_point(session, site, "CP-LOST-ANSWER", online=False)
    support = make_user(session, "lost@console.test", staff_role="support")
    done = remote.change_configuration(session, support, cp, "AuthorizationKey", NEW_SECRET, "rotation")
    done.row.state, done.row.sent_at = "timed_out", done.row.created_at
    session.commit()

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, "CP-LOST-ANSWER", NEW_SECRET):
                await eventually(db, lambda s: s.get(ChargePoint, cp.id).online)

    run(scenario())
    with db.session() as s:
        assert verify_secret(s.get(ChargePoint, cp.id).secret_hash, NEW_SECRET)
        assert s.get(ActionRequest, done.row.id).pending_secret_hash is None
