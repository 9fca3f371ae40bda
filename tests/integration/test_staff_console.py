"""Staff console pages through the Flask client on the real database and Redis: landing, overview,
charger search and message log, remote actions with confirmation and reason, and secret rotation."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select

from portal.db import utcnow
from portal.models import ActionRequest, AuditEntry, ChargePoint, OcppMessage, OrphanStop, Transaction
from portal.services.people.secrets import verify_secret
from portal.services.staff import remote, secret_rotation
from tests.factories import make_charge_point, make_site, make_user, resident_with_access
from portal import settings

HX = {"HX-Request": "true"}
NEW_SECRET = "brand-new-charger-secret-42"


@pytest.fixture(autouse=True)
def _empty_charger_queue(redis_url):
    """Requests made here are queued for a worker that never runs: leave no job for the next test."""
    queue = Queue(settings.CHARGER_QUEUE, connection=Redis.from_url(redis_url))
    queue.empty()
    yield
    queue.empty()


@pytest.fixture
def staff(session):
    site, resident, cp = resident_with_access(session)
    cp.name = "Garage B"
    support = make_user(session, "support@console.test", staff_role="support")
    sales = make_user(session, "sales@console.test", staff_role="sales")
    session.commit()
    return {"site": site, "resident": resident, "cp": cp, "support": support, "sales": sales}


def _login_as(client, login, user):
    login(client, user)
    return client


def test_staff_land_on_the_console_after_log_in_and_residents_do_not(client, session, staff):
    from tests.factories import PASSWORD

    for email, target in (("support@console.test", "/staff"), ("sales@console.test", "/staff"),
                          (staff["resident"].email, "/")):
        c = client.application.test_client()
        c.set_cookie("lang", "en")
        c.environ_base["HTTP_X_CSRFTOKEN"] = client.environ_base["HTTP_X_CSRFTOKEN"]
        with c.session_transaction() as s:
            s["csrf_token"] = "test-raw-csrf"
        response = c.post("/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 303 and response.headers["Location"] == target, email


def test_overview_lists_what_needs_a_look_and_filters_by_site(client, login, session, staff):
    cp = staff["cp"]
    other_site = make_site(session, "elsewhere", name="Elsewhere sameie")
    offline = make_charge_point(session, other_site, "CP-OFFLINE-1", online=False)
    offline.offline_since = utcnow() - timedelta(hours=3)
    old = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="T1", status="active", start_key="k-long",
                      meter_start_wh=0, started_at=utcnow() - timedelta(hours=20))
    session.add(old)
    session.add(OrphanStop(charge_point_id=cp.id, transaction_id=999, meter_stop_wh=5, timestamp=utcnow(),
                           stop_key="orphan-1", payload={}, note="unknown transaction"))
    session.commit()
    _login_as(client, login, staff["support"])
    page = client.get("/staff")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "CP-OFFLINE-1" in body and f'data-session="{old.id}"' in body and 'data-orphan="' in body
    fragment = client.get(f"/staff?site={staff['site'].slug}", headers=HX).get_data(as_text=True)
    assert fragment.lstrip().startswith("<section") and 'hx-trigger="every' in fragment
    assert "CP-OFFLINE-1" not in fragment and f'data-session="{old.id}"' in fragment


def test_marking_an_orphan_stop_looked_at_needs_a_reason_and_is_audited(client, login, session, staff):
    session.add(OrphanStop(charge_point_id=staff["cp"].id, transaction_id=999, meter_stop_wh=5, timestamp=utcnow(),
                           stop_key="orphan-2", payload={}, note="unknown transaction"))
    session.commit()
    orphan_id = session.scalar(select(OrphanStop.id))
    _login_as(client, login, staff["support"])
    assert client.post(f"/staff/orphan-stops/{orphan_id}/reviewed", data={"reason": ""}).status_code == 303
    session.expire_all()
    assert session.get(OrphanStop, orphan_id).reviewed_at is None
    client.post(f"/staff/orphan-stops/{orphan_id}/reviewed", data={"reason": "charger clock was wrong"})
    session.expire_all()
    assert session.get(OrphanStop, orphan_id).reviewed_at is not None
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity == "orphan_stop"))
    assert entry.area == "staff" and entry.reason == "charger clock was wrong" and entry.actor_id == staff["support"].id


def test_sales_see_no_charger_data_on_the_landing_page(client, login, session, staff):
    staff["cp"].online = False
    session.commit()
    _login_as(client, login, staff["sales"])
    body = client.get("/staff").get_data(as_text=True)
    assert 'data-testid="staff-start"' in body and staff["cp"].identity not in body


def test_charger_search_by_identity_site_and_owner_email(client, login, session, staff):
    cp = staff["cp"]
    owner = make_user(session, "owner@home.test", site=staff["site"])
    home = make_charge_point(session, staff["site"], "CP-HOME-9", cp_type="personal", owner_id=owner.id)
    session.commit()
    _login_as(client, login, staff["support"])
    for q, expect in ((cp.identity.lower(), cp.identity), (staff["site"].name[:6], home.identity),
                      ("owner@home", home.identity)):
        body = client.get("/staff/chargers", query_string={"q": q}, headers=HX).get_data(as_text=True)
        assert f'data-identity="{expect}"' in body, q
    body = client.get("/staff/chargers", query_string={"q": "owner@home"}).get_data(as_text=True)
    assert f'data-identity="{cp.identity}"' not in body


def _log(session, identity, direction, frame, action=None, mtype=2, uid="u1", minutes_ago=0):
    session.add(OcppMessage(identity=identity, direction=direction, frame=frame, action=action, message_type=mtype,
                            unique_id=uid, created_at=utcnow() - timedelta(minutes=minutes_ago)))


def test_message_log_filters_and_plain_language(client, login, session, staff):
    cp = staff["cp"]
    _log(session, cp.identity, "in", '[2,"a1","StatusNotification",{"connectorId":1,"errorCode":"NoError",'
         '"status":"SuspendedEV"}]', "StatusNotification", uid="a1", minutes_ago=5)
    _log(session, cp.identity, "in", '[2,"a2","StatusNotification",{"connectorId":1,"errorCode":'
         '"EVCommunicationError","status":"Faulted"}]', "StatusNotification", uid="a2", minutes_ago=4)
    _log(session, cp.identity, "out", '[2,"r1","RemoteStartTransaction",{"idTag":"X","connectorId":1}]',
         "RemoteStartTransaction", uid="r1", minutes_ago=3)
    _log(session, cp.identity, "in", '[3,"r1",{"status":"Rejected"}]', None, mtype=3, uid="r1", minutes_ago=3)
    _log(session, cp.identity, "in", '[2,"h1","Heartbeat",{}]', "Heartbeat", uid="h1", minutes_ago=600)
    session.commit()
    _login_as(client, login, staff["support"])
    page = client.get(f"/staff/chargers/{cp.identity}").get_data(as_text=True)
    assert "The car has paused charging" in page
    assert "cannot talk to the car" in page
    assert "The charger refused to start" in page
    log = client.get(f"/staff/chargers/{cp.identity}", query_string={"part": "log", "errors_only": "y"},
                     headers=HX).get_data(as_text=True)
    assert log.lstrip().startswith('<div id="message-log"')
    assert "EVCommunicationError" in log and '&#34;Rejected&#34;' in log and "SuspendedEV" not in log
    only = client.get(f"/staff/chargers/{cp.identity}", query_string={
        "part": "log", "action": "RemoteStartTransaction", "direction": "in"}, headers=HX).get_data(as_text=True)
    assert '&#34;Rejected&#34;' in only and "StatusNotification" not in only and '&#34;idTag&#34;' not in only
    recent = client.get(f"/staff/chargers/{cp.identity}", query_string={
        "part": "log", "since": (utcnow() + timedelta(hours=1) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")},
        headers=HX).get_data(as_text=True)
    assert "Heartbeat" not in recent
    poll = client.get(f"/staff/chargers/{cp.identity}", headers=HX).get_data(as_text=True)
    assert poll.lstrip().startswith('<section id="charger-live"') and "message-log" not in poll
    bad = client.get(f"/staff/chargers/{cp.identity}", query_string={"part": "log", "since": "yesterday-ish"},
                     headers=HX)
    assert bad.status_code == 200


def _queued_jobs(redis_url) -> list:
    return Queue(settings.CHARGER_QUEUE, connection=Redis.from_url(redis_url)).get_job_ids()


def test_unlock_has_a_confirmation_step_a_reason_and_an_audit_entry(client, login, session, staff, redis_url):
    cp = staff["cp"]
    Queue(settings.CHARGER_QUEUE, connection=Redis.from_url(redis_url)).empty()
    _login_as(client, login, staff["support"])
    url = f"/staff/chargers/{cp.identity}/actions/unlock"
    missing = client.post(url, data={"connector": "1", "reason": ""}, headers=HX)
    assert missing.status_code == 422 and "audit log" in missing.get_data(as_text=True)
    wrong = client.post(url, data={"connector": "7", "reason": "cable stuck", "confirmed": "yes"}, headers=HX)
    assert wrong.status_code == 422 and "Choose one of the charger" in wrong.get_data(as_text=True)
    confirm = client.post(url, data={"connector": "1", "reason": "cable stuck"}, headers=HX)
    body = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and 'data-step="confirm"' in body and "cable stuck" in body
    assert session.scalar(select(ActionRequest.id)) is None
    done = client.post(url, data={"connector": "1", "reason": "cable stuck", "confirmed": "yes"}, headers=HX)
    row = session.scalar(select(ActionRequest))
    assert done.headers["HX-Redirect"] == f"/staff/actions/{row.id}"
    assert (row.action, row.payload, row.reason, row.requested_by_id) == (
        "UnlockConnector", {"connectorId": 1}, "cable stuck", staff["support"].id)
    assert any(j.startswith(f"action-{row.id}-") for j in _queued_jobs(redis_url))
    entry = session.scalar(select(AuditEntry).where(AuditEntry.area == "staff"))
    assert (entry.action, entry.reason, entry.actor_id, entry.site_id) == (
        "remote:UnlockConnector", "cable stuck", staff["support"].id, cp.site_id)
    page = client.get(f"/staff/actions/{row.id}").get_data(as_text=True)
    assert 'data-state="queued"' in page and 'hx-trigger="every 1s"' in page


def test_a_failed_request_shows_its_state_and_can_be_retried(client, login, session, staff, redis_url):
    cp = staff["cp"]
    row = ActionRequest(charge_point_id=cp.id, action="Reset", payload={"type": "Soft"}, state="charger_offline",
                        error="no OCPP node holds the charger", reason="frozen screen",
                        requested_by_id=staff["support"].id)
    session.add(row)
    session.commit()
    _login_as(client, login, staff["support"])
    page = client.get(f"/staff/actions/{row.id}").get_data(as_text=True)
    assert "The charger is offline" in page and 'data-testid="retry-form"' in page and "every 1s" not in page
    again = client.post(f"/staff/actions/{row.id}/retry", data={"reason": "it is back online"}, headers=HX)
    new = session.scalar(select(ActionRequest).where(ActionRequest.id != row.id))
    assert again.headers["HX-Redirect"] == f"/staff/actions/{new.id}"
    assert (new.action, new.payload, new.state, new.reason) == (
        "Reset", {"type": "Soft"}, "queued", "it is back online")


def test_start_on_behalf_of_a_resident_uses_their_tag(client, login, session, staff):
    cp, resident = staff["cp"], staff["resident"]
    _login_as(client, login, staff["support"])
    url = f"/staff/chargers/{cp.identity}/actions/start"
    unknown = client.post(url, data={"connector": "1", "who": "nobody@x.test", "reason": "phone died",
                                     "confirmed": "yes"}, headers=HX)
    assert unknown.status_code == 422 and "Nobody has an account" in unknown.get_data(as_text=True)
    client.post(url, data={"connector": "1", "who": resident.email, "reason": "phone died", "confirmed": "yes"})
    row = session.scalar(select(ActionRequest))
    from portal.models import IdTag

    tag = session.scalar(select(IdTag).where(IdTag.user_id == resident.id, IdTag.kind == "virtual"))
    assert row.action == "RemoteStartTransaction" and row.payload == {"connectorId": 1, "idTag": tag.tag}


def test_rotating_the_charger_secret_keeps_it_out_of_tables_and_pages(client, login, session, staff, db,
                                                                      redis_url):
    cp = staff["cp"]
    old_hash = cp.secret_hash
    _login_as(client, login, staff["support"])
    url = f"/staff/chargers/{cp.identity}/actions/change_config"
    step = client.post(url, data={"key": "AuthorizationKey", "reason": "yearly rotation"}, headers=HX)
    assert 'data-step="confirm"' in step.get_data(as_text=True)
    differ = client.post(url, data={"key": "AuthorizationKey", "reason": "yearly rotation", "confirmed": "yes", "secret_choice": "type",
                                    "secret": NEW_SECRET, "secret_again": NEW_SECRET + "x"}, headers=HX)
    assert differ.status_code == 422 and NEW_SECRET not in differ.get_data(as_text=True)
    short = client.post(url, data={"key": "AuthorizationKey", "reason": "yearly rotation", "confirmed": "yes", "secret_choice": "type",
                                   "secret": "short", "secret_again": "short"}, headers=HX)
    assert short.status_code == 422 and "16 to 40" in short.get_data(as_text=True)
    client.post(url, data={"key": "AuthorizationKey", "reason": "yearly rotation", "confirmed": "yes", "secret_choice": "type",
                           "secret": NEW_SECRET, "secret_again": NEW_SECRET}, headers=HX)
    row = session.scalar(select(ActionRequest))
    assert row.payload == {"key": "AuthorizationKey", "value": "***"}
    session.expire_all()
    assert session.get(ChargePoint, cp.id).secret_hash == old_hash  # not before the charger accepts
    assert verify_secret(row.pending_secret_hash, NEW_SECRET)
    redis = Redis.from_url(redis_url)
    assert secret_rotation.take_secret(redis, row.id) == NEW_SECRET
    assert secret_rotation.take_secret(redis, row.id) is None  # read once
    for page in (client.get(f"/staff/actions/{row.id}"), client.get(f"/staff/chargers/{cp.identity}"),
                 client.get(f"/staff/chargers/{cp.identity}/actions/change_config?key=AuthorizationKey")):
        assert NEW_SECRET not in page.get_data(as_text=True)
    from tests.integration.test_access_audit import db_snapshot

    assert NEW_SECRET not in repr(db_snapshot(db))
    # the charger's answer decides
    session.execute(ActionRequest.__table__.update().values(state="accepted"))
    session.commit()
    session.expire_all()
    assert secret_rotation.apply_outcome(session, row.id)
    session.commit()
    session.expire_all()
    assert verify_secret(session.get(ChargePoint, cp.id).secret_hash, NEW_SECRET)
    assert session.get(ActionRequest, row.id).pending_secret_hash is None


def test_a_rejected_rotation_leaves_the_old_secret(session, staff):
    cp, support = staff["cp"], staff["support"]
    old_hash = cp.secret_hash
    done = remote.change_configuration(session, support, cp, "AuthorizationKey", NEW_SECRET, "rotation")
    done.row.state = "rejected"
    session.commit()
    assert not secret_rotation.apply_outcome(session, done.row.id)
    assert session.get(ChargePoint, cp.id).secret_hash == old_hash and done.row.pending_secret_hash is None
    with pytest.raises(remote.RemoteRefused) as refused:
        remote.retry(session, support, done.row, "again")
    assert refused.value.code == "secret_retry"


def test_the_worker_sends_nothing_when_the_secret_is_gone(session, staff, database_url, redis_url):
    from worker.jobs.charger import run_action

    done = remote.change_configuration(session, staff["support"], staff["cp"], "AuthorizationKey", NEW_SECRET, "r")
    session.commit()
    assert run_action(done.row.id, database_url, redis_url) == "failed"
    session.expire_all()
    row = session.get(ActionRequest, done.row.id)
    assert row.sent_at is not None and "no longer available" in row.error and row.pending_secret_hash is None


def test_overview_lists_timed_out_requests_and_meter_flags_until_looked_at(client, login, session, staff):
    cp = staff["cp"]
    session.add(ActionRequest(charge_point_id=cp.id, action="Reset", payload={"type": "Soft"}, state="timed_out",
                              error="no answer recorded before the deadline"))
    flagged = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="T9", status="completed", start_key="k-flag",
                          meter_start_wh=0, started_at=utcnow() - timedelta(hours=2),
                          meter_flags=[{"code": "register_backwards"}])
    session.add(flagged)
    session.commit()
    _login_as(client, login, staff["support"])
    body = client.get("/staff").get_data(as_text=True)
    assert "no answer recorded before the deadline" in body and "the energy register went backwards" in body
    client.post(f"/staff/sessions/{flagged.id}/flag-reviewed", data={"reason": "meter replaced, billed right"})
    assert "the energy register went backwards" not in client.get("/staff").get_data(as_text=True)
    session.expire_all()
    assert session.get(Transaction, flagged.id).flag_codes == {"register_backwards"}  # kept on the record


def test_enable_and_disable_are_stored_sent_and_audited(client, login, session, staff, redis_url):
    cp = staff["cp"]
    _login_as(client, login, staff["support"])
    client.post(f"/staff/chargers/{cp.identity}/actions/availability",
                data={"operative": "disabled", "reason": "water leak in the garage", "confirmed": "yes"})
    session.expire_all()
    assert session.get(ChargePoint, cp.id).enabled is False
    off = session.scalar(select(ActionRequest))
    assert off.payload == {"connectorId": 0, "type": "Inoperative"} and off.reason == "water leak in the garage"
    assert _queued_jobs(redis_url) and all(j.startswith(f"action-{off.id}-") for j in _queued_jobs(redis_url))
    off.state = "accepted"  # the charger took it (no worker runs here): the next request is a new one
    session.commit()

    client.post(f"/staff/chargers/{cp.identity}/actions/availability",
                data={"operative": "enabled", "reason": "leak fixed", "confirmed": "yes"})
    session.expire_all()
    assert session.get(ChargePoint, cp.id).enabled is True
    on = session.scalar(select(ActionRequest).where(ActionRequest.id != off.id))
    assert on.payload == {"connectorId": 0, "type": "Operative"} and on.reason == "leak fixed"
    assert any(j.startswith(f"action-{on.id}-") for j in _queued_jobs(redis_url))
    audited = session.execute(select(AuditEntry.action, AuditEntry.reason).where(
        AuditEntry.action.in_(("disabled", "enabled"))).order_by(AuditEntry.id)).all()
    assert [tuple(a) for a in audited] == [("disabled", "water leak in the garage"), ("enabled", "leak fixed")]


def test_admin_gives_roles_and_reads_the_staff_audit_log(client, login, session, staff):
    admin = make_user(session, "boss@console.test", staff_role="admin")
    session.commit()
    _login_as(client, login, admin)
    resident = staff["resident"]
    found = client.get("/staff/accounts", query_string={"q": resident.email}).get_data(as_text=True)
    assert f'data-email="{resident.email}"' in found
    client.post(f"/staff/accounts/{resident.id}/role", data={"role": "support", "reason": ""})
    session.expire_all()
    assert session.get(type(resident), resident.id).staff_role is None  # a reason is required
    client.post(f"/staff/accounts/{resident.id}/role", data={"role": "support", "reason": "new night shift"})
    client.post(f"/staff/accounts/{admin.id}/role", data={"role": "", "reason": "oops"})
    session.expire_all()
    assert session.get(type(resident), resident.id).staff_role == "support"
    assert session.get(type(admin), admin.id).staff_role == "admin"
    log = client.get("/staff/audit").get_data(as_text=True)
    assert "new night shift" in log and admin.email in log and "staff_role" in log


def test_sales_set_a_cooperatives_agreement(client, login, session, staff):
    _login_as(client, login, staff["sales"])
    site = staff["site"]
    client.post(f"/staff/sites/{site.slug}/agreement", data={"agreement_status": "ended", "reason": "contract ended"})
    session.expire_all()
    assert session.get(type(site), site.id).agreement_status == "ended"
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "agreement"))
    assert (entry.area, entry.reason, entry.before, entry.after) == (
        "staff", "contract ended", {"agreement_status": "active"}, {"agreement_status": "ended"})
    # the board's own change log does not show the operator's console entries
    board = make_user(session, "board@console.test", site=site, role="board")
    session.commit()
    login(client, board)
    page = client.get(f"/manage/{site.slug}/audit")
    assert page.status_code == 200 and "contract ended" not in page.get_data(as_text=True)


def test_a_rotation_whose_answer_was_lost_is_confirmed_when_the_charger_uses_the_new_secret(session, staff):
    cp, support = staff["cp"], staff["support"]
    old_hash = cp.secret_hash
    done = remote.change_configuration(session, support, cp, "AuthorizationKey", NEW_SECRET, "rotation")
    done.row.state, done.row.sent_at = "timed_out", utcnow()
    session.commit()
    assert not secret_rotation.apply_outcome(session, done.row.id)
    assert session.get(ChargePoint, cp.id).secret_hash == old_hash and done.row.pending_secret_hash is not None
    assert not secret_rotation.promote_unconfirmed(session, cp.identity, "some-other-secret-value")
    assert secret_rotation.promote_unconfirmed(session, cp.identity, NEW_SECRET)
    session.commit()
    assert verify_secret(session.get(ChargePoint, cp.id).secret_hash, NEW_SECRET)
    assert done.row.pending_secret_hash is None
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "secret_confirmed_by_charger"))
    assert entry.area == "staff" and entry.actor_id is None


def test_a_rotation_that_never_left_drops_its_pending_secret(session, staff):
    done = remote.change_configuration(session, staff["support"], staff["cp"], "AuthorizationKey", NEW_SECRET, "r")
    done.row.state = "charger_offline"
    session.commit()
    secret_rotation.apply_outcome(session, done.row.id)
    assert done.row.pending_secret_hash is None
    assert not secret_rotation.promote_unconfirmed(session, staff["cp"].identity, NEW_SECRET)


def test_stop_on_behalf_and_a_worker_that_died_mid_call(client, login, session, staff):
    """A stop request left 'sent' by a dead worker is closed by the sweeper; the page shows it and a retry."""
    from portal.services.charging import actions

    cp, resident = staff["cp"], staff["resident"]
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="V1", user_id=resident.id, status="active",
                     start_key="k-stop", meter_start_wh=0, started_at=utcnow() - timedelta(hours=1))
    session.add(tx)
    session.commit()
    _login_as(client, login, staff["support"])
    url = f"/staff/chargers/{cp.identity}/actions/stop"
    assert f'value="{tx.id}"' in client.get(url, query_string={"transaction": tx.id}).get_data(as_text=True)
    client.post(url, data={"transaction": str(tx.id), "reason": "resident abroad", "confirmed": "yes"})
    row = session.scalar(select(ActionRequest))
    assert (row.action, row.payload, row.transaction_id) == ("RemoteStopTransaction", {"transactionId": tx.id}, tx.id)
    # the worker claimed it and died before the answer
    row.state, row.sent_at, row.deadline_at = "sent", utcnow() - timedelta(minutes=5), utcnow() - timedelta(minutes=4)
    session.commit()
    actions.sweep(session)
    session.commit()
    page = client.get(f"/staff/actions/{row.id}").get_data(as_text=True)
    assert 'data-state="timed_out"' in page and "No answer in time" in page and 'data-testid="retry-form"' in page
    again = client.post(f"/staff/actions/{row.id}/retry", data={"reason": "try once more"}, headers=HX)
    new_id = int(again.headers["HX-Redirect"].rsplit("/", 1)[1])
    session.expire_all()
    assert session.get(ActionRequest, new_id).transaction_id == tx.id


def test_support_sees_the_cooperatives_but_only_sales_change_agreements(client, login, session, staff):
    site = staff["site"]
    _login_as(client, login, staff["support"])
    body = client.get("/staff/sites").get_data(as_text=True)
    assert f'data-slug="{site.slug}"' in body and "1 / 1" in body and 'name="agreement_status"' not in body
    assert client.post(f"/staff/sites/{site.slug}/agreement", data={"agreement_status": "ended",
                                                                   "reason": "x"}).status_code == 403
    _login_as(client, login, staff["sales"])
    assert 'name="agreement_status"' in client.get("/staff/sites").get_data(as_text=True)


def test_the_charger_view_says_why_a_session_costs_what_it_costs_in_the_readers_language(client, login, session,
                                                                                          staff):
    """The billing decision the node stored (access at the start, meter notes) is visible to support."""
    cp = staff["cp"]
    started = utcnow() - timedelta(hours=3)
    session.add_all([
        Transaction(charge_point_id=cp.id, connector_id=1, id_tag="BLOCKED", status="completed", start_key="k-refused",
                    meter_start_wh=0, meter_stop_wh=5000, energy_wh=5000, cost_minor=0, vat_minor=0,
                    started_at=started, stopped_at=started + timedelta(hours=1), access_decision="no_access",
                    billable=False),
        Transaction(charge_point_id=cp.id, connector_id=1, id_tag="T1", status="completed", start_key="k-samples",
                    meter_start_wh=0, meter_stop_wh=100, energy_wh=4000, cost_minor=1280, vat_minor=256,
                    started_at=started, stopped_at=started + timedelta(hours=2),
                    meter_flags=[{"code": "register_backwards"}, {"code": "billed_from_samples"}]),
    ])
    session.commit()
    _login_as(client, login, staff["support"])
    client.set_cookie("lang", "nb")
    page = client.get(f"/staff/chargers/{cp.identity}").get_data(as_text=True)
    assert "Brikken ble avvist ved start (Du har ikke tilgang til denne laderen): ikke fakturert" in page
    assert "no_access" not in re.sub(r'="[^"]*"', "", page)  # the code stays in attributes only
    assert "energitelleren gikk baklengs" in page
    assert "fakturert etter måleravlesningene underveis i stedet for start og stopp" in page
