"""The AuthorizationKey never in clear (issue 23): GetConfiguration answers that show it, the key typed in
another case or with spaces, and a rotation that must be generated or typed twice, never echoed."""
from __future__ import annotations

import json

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select

from portal.models import ActionRequest, AuditEntry, ChargePoint
from portal.services.charging import actions
from portal.services.people.secrets import verify_secret
from portal.services.staff import secret_rotation
from tests.factories import make_charge_point, make_site, make_user
from tests.integration.test_access_audit import db_snapshot
from portal import settings
from worker.jobs import charger as charger_jobs
from worker.jobs.charger import CallSpec

HX = {"HX-Request": "true"}
LEAK = "Leaked-Key-Value-7431x"
NEW_SECRET = "Typed-New-Secret-9153q"


@pytest.fixture(autouse=True)
def _empty_charger_queue(redis_url):
    yield
    Queue(settings.CHARGER_QUEUE, connection=Redis.from_url(redis_url)).empty()


@pytest.fixture
def console(session, client, login):
    site = make_site(session, "leak-site")
    cp = make_charge_point(session, site, "CP-LEAK-1")
    support = make_user(session, "leak-support@console.test", staff_role="support")
    session.commit()
    login(client, support)
    return {"cp_id": cp.id, "identity": cp.identity, "support_id": support.id, "old_hash": cp.secret_hash}


def _pages(client, identity, action_id):
    return " ".join(client.get(url).get_data(as_text=True) for url in (
        f"/staff/actions/{action_id}", f"/staff/chargers/{identity}", "/staff/audit"))


def test_a_get_configuration_answer_showing_the_key_is_stored_and_shown_blanked(client, db, session, console,
                                                                                monkeypatch):
    url = f"/staff/chargers/{console['identity']}/actions/get_config"
    done = client.post(url, data={"keys": "", "reason": "check", "confirmed": "yes"}, headers=HX)
    action_id = int(done.headers["HX-Redirect"].rsplit("/", 1)[1])
    answer = {"configurationKey": [
        {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
        {"key": "AuthorizationKey", "readonly": False, "value": LEAK},  # a charger that shows it anyway
        {"key": "authorizationKEY ", "readonly": True, "value": LEAK}]}
    monkeypatch.setattr(charger_jobs, "call_charger", lambda redis, spec: {"status": "ok", "response": answer})
    session.execute(ActionRequest.__table__.update().values(state="sent"))
    session.commit()
    spec = CallSpec(console["identity"], "GetConfiguration", {}, 0)
    assert charger_jobs._deliver(db, None, action_id, spec, rotation=False) == "accepted"
    assert LEAK not in repr(db_snapshot(db))
    page = _pages(client, console["identity"], action_id)
    assert "HeartbeatInterval" in page and LEAK not in page


@pytest.mark.parametrize("key", ["authorizationkey", "AUTHORIZATIONKEY", "AuthorizationKey ", " authorizationKey"])
def test_the_key_in_any_case_or_spacing_is_a_rotation_never_echoed_and_typed_twice(client, db, session, console,
                                                                                    redis_url, key):
    url = f"/staff/chargers/{console['identity']}/actions/change_config"
    first = dict(key=key, value=NEW_SECRET, reason="rotation")  # the secret typed as an ordinary value
    step = client.post(url, data=first, headers=HX)
    body = step.get_data(as_text=True)
    assert 'data-step="confirm"' in body and NEW_SECRET not in body  # never echoed back
    assert 'data-testid="secret-choice"' in body
    once = client.post(url, data=dict(first, confirmed="yes", secret_choice="type", secret=NEW_SECRET),
                       headers=HX)
    assert once.status_code == 422 and NEW_SECRET not in once.get_data(as_text=True)  # typed once: refused
    assert session.scalar(select(ActionRequest.id)) is None
    done = client.post(url, data=dict(first, confirmed="yes", secret_choice="type", secret=NEW_SECRET,
                                      secret_again=NEW_SECRET), headers=HX)
    assert done.status_code == 204
    row = session.scalar(select(ActionRequest))
    assert row.payload == {"key": "AuthorizationKey", "value": "***"}
    assert verify_secret(row.pending_secret_hash, NEW_SECRET)
    assert secret_rotation.take_secret(Redis.from_url(redis_url), row.id) == NEW_SECRET
    assert NEW_SECRET not in repr(db_snapshot(db))
    assert NEW_SECRET not in _pages(client, console["identity"], row.id)


def test_a_rotation_made_by_the_portal_is_never_shown(client, db, session, console, redis_url):
    url = f"/staff/chargers/{console['identity']}/actions/change_config"
    data = dict(key="AuthorizationKey", reason="rotation", confirmed="yes", secret_choice="generate")
    assert client.post(url, data=data, headers=HX).status_code == 204
    row = session.scalar(select(ActionRequest))
    secret = secret_rotation.take_secret(Redis.from_url(redis_url), row.id)
    assert len(secret) >= 27 and verify_secret(row.pending_secret_hash, secret)  # 20+ random bytes
    assert secret not in repr(db_snapshot(db)) and secret not in _pages(client, console["identity"], row.id)


def test_a_weak_typed_secret_is_refused(client, session, console):
    url = f"/staff/chargers/{console['identity']}/actions/change_config"
    weak = "aaaaaaaaaaaaaaaaaaaa"
    answer = client.post(url, data=dict(key="AuthorizationKey", reason="r", confirmed="yes", secret_choice="type",
                                        secret=weak, secret_again=weak), headers=HX)
    assert answer.status_code == 422 and session.scalar(select(ActionRequest.id)) is None


def test_no_other_path_stores_the_key_in_clear(db, session, console):
    from portal.models import User
    from portal.services.sites import audit

    support = session.get(User, console["support_id"])
    cp = session.get(ChargePoint, console["cp_id"])
    with pytest.raises(actions.ActionRefused):
        actions.request_action(session, support, cp, "ChangeConfiguration",
                               {"key": "authorizationKey", "value": LEAK})
    audit.record(session, support, cp.site_id, "charge_point", cp.id, "note",
                 after={"payload": {"key": "AUTHORIZATIONKEY", "value": LEAK}, "AuthorizationKey": LEAK})
    session.commit()
    stored = session.scalar(select(AuditEntry).where(AuditEntry.action == "note"))
    assert LEAK not in json.dumps(stored.after)
