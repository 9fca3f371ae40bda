"""Logs and stored copies without secrets: auth events with user id and address only, no link token in
access logs or in sent e-mails, no AuthorizationKey in the OCPP log, RFID ids only for the retention."""
from __future__ import annotations

import json
import logging
import re
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from ocpp_server.msglog import redact
from portal.db import utcnow
from portal.models import OrphanStop, OutboxEmail, Transaction
from portal.security.redaction import RedactSecretPaths, redact_links
from portal.services.people.retention import forget_old_id_tags
from tests.factories import PASSWORD, make_user, resident_with_access
from tests.support.mail import reset_mail_queue, run_mail_jobs

TOKEN = "eyJ1IjoxfQ.Zk3xYw.s3cr3t-t0ken_value"


@pytest.mark.parametrize("line", [
    f"GET /reset/{TOKEN} HTTP/1.1", f"POST /invite/{TOKEN}", f"GET /verify/{TOKEN}?x=1",
    f"GET /login?next=%2Finvite%2F{TOKEN} HTTP/1.1", f"http://portal.test/reset/{TOKEN}",
])
def test_link_tokens_are_taken_out_of_any_text(line):
    assert TOKEN not in redact_links(line) and "[redacted]" in redact_links(line)


def test_the_log_filter_rewrites_access_log_records_of_gunicorn_and_werkzeug():
    atoms = {"r": f"GET /reset/{TOKEN} HTTP/1.1", "U": f"/reset/{TOKEN}", "s": "200"}
    gunicorn = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, '"%(r)s" %(s)s', (atoms,), None)
    werkzeug = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - "%s" %s',
                                 ("127.0.0.1", f"GET /invite/{TOKEN} HTTP/1.1", "200"), None)
    for record in (gunicorn, werkzeug):
        assert RedactSecretPaths().filter(record)
        assert TOKEN not in record.getMessage() and "[redacted]" in record.getMessage()


def test_the_real_access_log_of_gunicorn_holds_no_token(database_url, redis_url):
    from tests.support.stack import start_web

    proc, base = start_web({"DATABASE_URL": database_url, "REDIS_URL": redis_url, "RATELIMIT_ENABLED": "0"})
    try:
        for path in (f"/reset/{TOKEN}", f"/invite/{TOKEN}", f"/verify/{TOKEN}", f"/login?next=%2Finvite%2F{TOKEN}"):
            try:
                urllib.request.urlopen(base + path, timeout=10).read()
            except urllib.error.HTTPError:
                pass  # a refused token is an answer too; the request is in the log either way
        urllib.request.urlopen(base + "/healthz?last=1", timeout=10).read()
        out = proc.output()
        while "/healthz?last=1" not in out:  # the access log is written after the answer
            out = proc.output()
    finally:
        proc.stop()
    assert TOKEN not in out, out[-2000:]
    assert out.count("[redacted]") >= 4


def test_sign_in_events_are_logged_with_user_and_address_but_no_secret(client, session, caplog):
    user = make_user(session, "ann@example.test")
    session.commit()
    with caplog.at_level(logging.INFO, logger="portal.auth"):
        client.post("/login", data={"email": user.email, "password": "wrong-guess-123"})
        client.post("/login", data={"email": user.email, "password": PASSWORD})
        client.post("/reset", data={"email": user.email})
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "portal.auth")
    assert f"log-in failed for user {user.id} from 127.0.0.1" in text
    assert f"log-in of user {user.id} from 127.0.0.1" in text
    assert f"password reset link sent to user {user.id}" in text
    assert "wrong-guess-123" not in text and PASSWORD not in text and user.email not in text


def test_rate_limit_refusals_are_logged(app_config, db, redis_url, caplog):
    from redis import Redis

    from portal import create_app
    from tests.conftest import browser_like_client

    client = browser_like_client(create_app({**app_config, "RATELIMIT_ENABLED": True}))
    with caplog.at_level(logging.INFO, logger="portal.auth"):
        for _ in range(11):
            client.post("/login", data={"email": "x@example.test", "password": "nope"})
    assert any("rate limit" in r.getMessage() and "/login" in r.getMessage() for r in caplog.records)
    for key in Redis.from_url(redis_url).scan_iter("*portal-rl*"):
        Redis.from_url(redis_url).delete(key)


def test_a_sent_reset_mail_keeps_no_working_link(client, session, smtp, redis_url):
    make_user(session, "ann@example.test")
    session.commit()
    client.post("/reset", data={"email": "ann@example.test"})
    run_mail_jobs(redis_url)
    delivered = smtp.wait_for(1)[0].as_string()
    assert re.search(r"/reset/[A-Za-z0-9_.-]{20,}", delivered)  # the person got the link
    session.expire_all()
    row = session.scalar(select(OutboxEmail))
    assert row.status == "sent"
    assert "/reset/[redacted]" in row.body_text and not re.search(r"/reset/[A-Za-z0-9_.-]{20,}", row.body_text)
    assert not re.search(r"/reset/[A-Za-z0-9_.-]{20,}", row.body_html or "")
    reset_mail_queue(redis_url)


@pytest.mark.parametrize("frame", [
    [2, "1", "ChangeConfiguration", {"key": "AuthorizationKey", "value": "0123456789abcdef"}],
    [3, "2", {"configurationKey": [{"key": "AuthorizationKey", "readonly": False, "value": "0123456789abcdef"}]}],
    [2, "3", "DataTransfer", {"vendorId": "x", "data": json.dumps({"AuthorizationKey": "0123456789abcdef"})}],
    # OCPP key names are case-insensitive: any spelling is the same secret (issue 23)
    [2, "4", "ChangeConfiguration", {"key": "authorizationkey", "value": "0123456789abcdef"}],
    [2, "5", "ChangeConfiguration", {"key": " AUTHORIZATIONKEY ", "value": "0123456789abcdef"}],
    [3, "6", {"configurationKey": [{"key": "AuthorizationKEY", "readonly": True, "value": "0123456789abcdef"}]}],
    [2, "7", "DataTransfer", {"vendorId": "x", "data": json.dumps({"authorizationKey": "0123456789abcdef"})}],
])
def test_the_ocpp_log_never_keeps_an_authorization_key(frame):
    stored = redact(json.dumps(frame))
    assert "0123456789abcdef" not in stored


def test_an_unreadable_frame_naming_the_key_is_not_stored():
    assert "0123" not in redact('[2,"1","ChangeConfiguration",{"key":"AuthorizationKey","value":"0123')


def test_rfid_ids_are_forgotten_after_the_retention(session, db):
    site, user, cp = resident_with_access(session)
    old = datetime(2024, 1, 1, tzinfo=timezone.utc)
    for key, stopped in (("old", old), ("new", utcnow() - timedelta(days=2))):
        session.add(Transaction(charge_point_id=cp.id, connector_id=1, id_tag="RFID-CARD-7", user_id=user.id,
                                status="completed", start_key=key, meter_start_wh=0, meter_stop_wh=10,
                                started_at=stopped - timedelta(hours=1), stopped_at=stopped, energy_wh=10))
    session.add(OrphanStop(charge_point_id=cp.id, transaction_id=99, id_tag="RFID-CARD-8", meter_stop_wh=1,
                           timestamp=old, stop_key="orphan", payload={"idTag": "RFID-CARD-8", "meterStop": 1},
                           received_at=old))
    session.commit()
    forget_old_id_tags(session, 90)
    session.commit()
    session.expire_all()
    tags = dict(session.execute(select(Transaction.start_key, Transaction.id_tag)).all())
    assert tags == {"old": "", "new": "RFID-CARD-7"}
    orphan = session.scalar(select(OrphanStop))
    assert orphan.id_tag is None and "idTag" not in orphan.payload and orphan.payload["meterStop"] == 1


def test_access_changes_are_logged_with_who_and_from_where(client, login, session, caplog):
    from tests.factories import make_site

    site = make_site(session, "eik")
    board = make_user(session, site=site, role="board")
    resident = make_user(session, site=site)
    session.commit()
    login(client, board)
    with caplog.at_level(logging.INFO, logger="portal.auth"):
        client.post(f"/manage/eik/members/{resident.id}/remove")
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "portal.auth")
    assert f"access: user {resident.id} removed from site {site.id} by user {board.id} from 127.0.0.1" in text
