"""Issue 23, privacy a resident can act on: the data export (GDPR art. 15/20) and deleting the account (art. 17).

The export of the demo resident holds every kind of record; after deletion no table holds their name, e-mail,
phone, RFID tag or parking space, and the board's report still equals the documents to the øre.
"""
from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import JSON, String, Text, select

from portal.db import utcnow
from portal.models import (
    AuditEntry, Base, ChargePoint, Favourite, IdTag, Invite, LoginSession, OutboxEmail, Site, Statement,
    SupportTicket, Transaction, User, UserSubscription,
)
from portal.services.billing import statements
from portal.services.people import erasure, login_sessions, privacy
from tests.factories import PASSWORD, make_charge_point, make_plan, make_site, make_user, subscribe

UTC = timezone.utc
OPERATOR = statements.Operator("Ladeportalen AS", "923 609 016")
DEMO_EMAIL = "resident@demo.test"
DEMO_PHONE = "+47 912 34 567"


def _tx(session, cp, user, start: datetime, stop: datetime | None, id_tag: str = "T", cost: int = 3200) -> Transaction:
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag=id_tag, user_id=user.id,
                     status="completed" if stop else "active", start_key=f"k-{cp.id}-{start.isoformat()}",
                     meter_start_wh=1, meter_stop_wh=10_001 if stop else None, started_at=start, stopped_at=stop,
                     energy_wh=10_000 if stop else 0, cost_minor=cost if stop else None,
                     vat_minor=cost // 5 if stop else None, energy_fee="3.2000")
    session.add(tx)
    session.flush()
    return tx


@pytest.fixture
def demo(app, session):
    """seed-demo, plus the few kinds of record the demo does not make: a favourite, an invite, a log-in,
    a phone number, a session not yet on any statement, a virtual tag."""
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    session.expire_all()
    user = session.scalar(select(User).where(User.email == DEMO_EMAIL))
    user.phone = DEMO_PHONE
    cp = session.scalar(select(ChargePoint).where(ChargePoint.identity == "CP-DEMO-1"))
    session.add(Favourite(user_id=user.id, charge_point_id=cp.id))
    session.add(Invite(site_id=cp.site_id, email=DEMO_EMAIL, token_hash="a" * 64, status="accepted",
                       accepted_user_id=user.id, accepted_at=utcnow()))
    session.add(IdTag(tag="VIRT-DEMO-77", user_id=user.id, kind="virtual"))
    login_sessions.start(session, user, remember=False, user_agent="Mozilla/5.0 (Linux; Android 14) Chrome/120",
                         ip_address="203.0.113.9")
    _tx(session, cp, user, utcnow() - timedelta(hours=3), utcnow() - timedelta(hours=2), id_tag="RFID-DEMO-0001")
    session.commit()
    return user


def _zip(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))


def _load(zf: zipfile.ZipFile, name: str):
    return json.loads(zf.read(name))


def test_the_demo_residents_export_holds_every_kind_of_record(app, session, demo):
    out = io.BytesIO()
    with app.app_context():
        files = privacy.write_export(session, demo, out)
    zf = _zip(out.getvalue())
    assert set(files) <= set(zf.namelist())
    profile = _load(zf, "profile.json")
    assert profile["email"] == DEMO_EMAIL and profile["name"] == "Ragnhild Resident" and profile["phone"] == DEMO_PHONE
    assert set(profile["notifications"]) == {"session_done", "session_stopped", "start_failed", "statement"}
    for name in ("memberships.json", "invites.json", "tags.json", "favourites.json", "subscriptions.json",
                 "sessions.json", "statements.json", "tickets.json", "login_sessions.json", "orders.json"):
        assert _load(zf, name), f"{name} is empty"
    assert {t["tag"] for t in _load(zf, "tags.json")} >= {"RFID-DEMO-0001", "VIRT-DEMO-77"}
    sessions = _load(zf, "sessions.json")
    assert all({"energy_wh", "meter_start_wh", "meter_stop_wh", "cost_minor", "vat_minor"} <= set(s) for s in sessions)
    assert any(s["charger"] == "CP-DEMO-1" for s in sessions)
    docs = _load(zf, "statements.json")
    assert docs and all(d["lines"] for d in docs if d["kind"] != "credit_note")
    assert sum(ln["amount_minor"] for d in docs for ln in d["lines"]) == sum(d["total_minor"] for d in docs)
    ticket = _load(zf, "tickets.json")[0]
    assert [m["from"] for m in ticket["messages"]] == ["requester", "staff"]  # the internal note is not theirs
    assert _load(zf, "orders.json")[0]["parking_space"] == "P-14"
    assert _load(zf, "login_sessions.json")[0]["ip_address"] == "203.0.113.9"
    # CSV copies for the tables, readable and formula-safe
    assert zf.read("sessions.csv").decode().splitlines()[0].startswith('"id";"charger"')
    assert len(zf.read("sessions.csv").decode().splitlines()) == len(sessions) + 1
    assert "statement_lines.csv" in zf.namelist() and "subscriptions.csv" in zf.namelist()


def test_the_resident_downloads_their_zip_from_the_account_page(client, login, demo):
    login(client, demo)
    page = client.get("/account").get_data(as_text=True)
    assert 'data-testid="export-form"' in page and "/account/delete" in page
    response = client.post("/account/export")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    assert _load(_zip(response.data), "profile.json")["email"] == DEMO_EMAIL


def _text_columns():
    for table in Base.metadata.sorted_tables:
        cols = [c for c in table.columns if isinstance(c.type, (String, Text, JSON))]
        if cols:
            yield table, cols


def _where_found(db, needles: list[str]) -> list[str]:
    """Every table cell (text or JSON) that still holds one of the needles, case-insensitively."""
    found = []
    with db.engine.connect() as conn:
        for table, cols in _text_columns():
            for row in conn.execute(select(*cols)).mappings():
                for col in cols:
                    value = row[col.name]
                    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
                    for needle in needles:
                        if value is not None and needle.lower() in text.lower():
                            found.append(f"{table.name}.{col.name}: {needle}")
    return sorted(set(found))


def _assert_reports_equal_documents(session) -> None:
    for site in session.scalars(select(Site)):
        months = {(d.year, d.month) for d in session.scalars(select(Statement).where(Statement.site_id == site.id))}
        for year, month in months:
            rows = statements.monthly_report(session, site, year, month)
            docs = statements.site_statements(session, site.id, year, month)
            assert sum(r.invoiced_minor for r in rows) == sum(d.total_minor for d in docs), (site.slug, year, month)
            assert sum(r.invoiced_vat_minor for r in rows) == sum(d.vat_minor for d in docs)
            for d in docs:
                assert d.total_minor == sum(ln.amount_minor for ln in d.lines)


def test_after_deletion_no_table_holds_the_person_and_the_books_still_add_up(app, db, session, demo, smtp):
    user_id = demo.id
    tags = list(session.scalars(select(IdTag.tag).where(IdTag.user_id == user_id)))
    assert "RFID-DEMO-0001" in tags
    before_total = sum(session.scalars(select(Statement.total_minor)))
    unbilled = [tx.id for tx in session.scalars(select(Transaction).where(
        Transaction.user_id == user_id, Transaction.status == "completed", ~statements.ON_A_DOCUMENT))]
    assert unbilled, "the demo resident has a session not yet on a statement"
    _assert_reports_equal_documents(session)
    needles = [DEMO_EMAIL, "Ragnhild Resident", DEMO_PHONE, "+47 911 11 111", "P-14", *tags]
    assert len({hit.split(": ")[1] for hit in _where_found(db, needles)}) == len(needles)  # the scan sees them
    own_ticket_id = session.scalar(select(SupportTicket.id).where(SupportTicket.requester_id == user_id)
                                   .order_by(SupportTicket.id).limit(1))  # the demo has other tickets too
    with app.app_context():
        from portal.auth.privacy import queue_deletion_email

        result = erasure.delete_account(session, demo, OPERATOR, now=utcnow())
        mail = queue_deletion_email(session, result)
        session.commit()
    assert result.documents, "the open sessions and this month's fee were billed first"
    for tx_id in unbilled:
        assert statements.document_of_session(session, tx_id) is not None
    assert sum(session.scalars(select(Statement.total_minor))) == before_total + sum(d.total_minor for d in result.documents)
    # the confirmation goes to the address the account had, and no copy stays once sent
    from worker.jobs.mail import send_outbox_email

    mail_id = mail.id
    assert send_outbox_email(mail_id) == "sent"
    assert smtp.wait_for(1)[0]["To"] == DEMO_EMAIL
    session.expire_all()
    assert session.get(OutboxEmail, mail_id) is None
    assert _where_found(db, needles) == []
    assert session.get(User, user_id) is None
    docs = list(session.scalars(select(Statement).where(Statement.billed_name == f"Deleted user #{user_id}")))
    assert docs and all(d.user_id is None and d.billed_email == "" for d in docs)
    _assert_reports_equal_documents(session)
    ticket = session.get(SupportTicket, own_ticket_id)
    assert ticket.requester_id is None and ticket.status == "closed"
    assert [m.body for m in ticket.messages if m.author_role == "requester"] == [erasure.REMOVED]
    assert any(m.author_role == "staff" and m.body for m in ticket.messages)  # support's side is kept


@pytest.fixture
def eik(session):
    site = make_site(session, "eik", name="Eik borettslag")
    ada = make_user(session, "ada@eik.test", site=site, name="Ada Eik")
    cp = make_charge_point(session, site, "CP-EIK-1", name="Garage 1")
    plan = make_plan(session, site, "Residents")
    plan.monthly_fee_minor = 30000
    subscribe(session, ada, plan, datetime(2026, 10, 1, tzinfo=UTC))
    session.commit()
    return site, ada, cp


def test_a_running_session_is_refused_with_a_clear_message(client, login, session, eik):
    site, ada, cp = eik
    _tx(session, cp, ada, utcnow() - timedelta(minutes=30), None)
    session.commit()
    login(client, ada)
    page = client.get("/account/delete").get_data(as_text=True)
    assert "You are charging right now" in page
    response = client.post("/account/delete", data={"password": PASSWORD, "confirm_email": "ada@eik.test"})
    assert response.status_code == 409 and "Stop the charging first" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(User, ada.id) is not None


def test_the_form_says_what_is_wrong_and_keeps_what_was_typed(client, login, session, eik):
    site, ada, cp = eik
    login(client, ada)
    response = client.post("/account/delete", data={"password": "wrong-password", "confirm_email": "ada@eik.tst"},
                           headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "That is not your password." in body and "exactly as shown above" in body
    assert 'value="ada@eik.tst"' in body
    session.expire_all()
    assert session.get(User, ada.id) is not None


def test_deleting_bills_late_sessions_and_fees_to_the_day_ends_log_ins_and_logs_out(client, login, session, eik):
    site, ada, cp = eik
    now = utcnow()
    # last month already ran: a session of last month that came late goes on a supplement
    last_y, last_m = statements.previous_month(now.date())
    start, _end = statements.month_bounds(last_y, last_m, site.timezone)
    statements.issue(session, site, last_y, last_m, OPERATOR)
    late = _tx(session, cp, ada, start + timedelta(days=2), start + timedelta(days=2, hours=1))
    today = _tx(session, cp, ada, now - timedelta(hours=2), now - timedelta(hours=1))
    session.commit()
    login(client, ada)
    page = client.get("/account/delete").get_data(as_text=True)
    assert 'data-testid="delete-billing"' in page
    # counted in words that fit the count: two sessions, and however many subscriptions she holds
    assert "2 charging sessions that are not on a statement yet" in page
    subs = erasure.preview(session, ada).subscriptions
    assert ("your subscription, up to today; it ends now" in page) == (subs == 1)
    assert "1 active" not in page and "(0 active" not in page
    ada_id = ada.id
    response = client.post("/account/delete", data={"password": PASSWORD, "confirm_email": " ADA@eik.test "})
    assert response.status_code in (303, 204), response.get_data(as_text=True)[:500]
    session.expire_all()
    assert session.get(User, ada_id) is None
    assert session.scalars(select(LoginSession).where(LoginSession.user_id == ada_id)).all() == []
    assert client.get("/account").status_code in (302, 303)  # logged out
    late_doc = statements.document_of_session(session, late.id)
    today_doc = statements.document_of_session(session, today.id)
    assert late_doc.kind == "supplementary" and late_doc.billed_name == f"Deleted user #{ada_id}"
    assert today_doc.kind == "statement" and any(ln.kind == "subscription" for ln in today_doc.lines)
    assert session.scalars(select(UserSubscription).where(UserSubscription.user_id == ada_id)).all() == []
    mail = session.scalar(select(OutboxEmail).where(OutboxEmail.kind == erasure.DELETION_EMAIL_KIND))
    assert mail.to_address == "ada@eik.test" and today_doc.number in mail.body_text
    _assert_reports_equal_documents(session)
    # the monthly job later bills nobody twice
    statements.issue(session, site, now.year, now.month, OPERATOR)
    session.commit()
    assert len([ln for ln in session.scalars(select(Statement)) for ln in ln.lines if ln.transaction_id == today.id]) == 1


def test_another_resident_cannot_reach_someone_elses_data(client, login, session, eik):
    site, ada, cp = eik
    bo = make_user(session, "bo@eik.test", site=site, name="Bo Eik")
    session.commit()
    login(client, bo)
    assert client.get(f"/staff/people/{ada.id}").status_code == 403
    assert client.post(f"/staff/people/{ada.id}/export", data={"reason": "x"}).status_code == 403
    assert client.post(f"/staff/people/{ada.id}/delete",
                       data={"reason": "x", "confirm_email": "ada@eik.test"}).status_code == 403
    own = _zip(client.post("/account/export").data)
    assert _load(own, "profile.json")["email"] == "bo@eik.test"
    assert b"ada@eik.test" not in b"".join(own.read(n) for n in own.namelist())
    # the resident's own deletion form only ever deletes the logged-in account
    client.post("/account/delete", data={"password": PASSWORD, "confirm_email": "ada@eik.test"})
    session.expire_all()
    assert session.get(User, ada.id) is not None and session.get(User, bo.id) is not None


def test_support_exports_and_deletes_on_request_with_the_reason_in_the_audit_log(client, login, session, eik):
    site, ada, cp = eik
    agent = make_user(session, "agent@op.test", staff_role="support")
    session.commit()
    ada_id = ada.id
    login(client, agent)
    assert "ada@eik.test" in client.get("/staff/people?q=ada@").get_data(as_text=True)
    assert client.get(f"/staff/people/{ada_id}").status_code == 200
    missing = client.post(f"/staff/people/{ada_id}/export", data={"reason": ""})
    assert missing.status_code == 422 and "audit log" in missing.get_data(as_text=True)
    exported = client.post(f"/staff/people/{ada_id}/export", data={"reason": "E-mail request 2026-12-01"})
    assert exported.mimetype == "application/zip"
    wrong = client.post(f"/staff/people/{ada_id}/delete", data={"reason": "E-mail 2 Dec", "confirm_email": "x@y.z"})
    assert wrong.status_code == 422 and 'value="x@y.z"' in wrong.get_data(as_text=True)
    done = client.post(f"/staff/people/{ada_id}/delete",
                       data={"reason": "E-mail from ada@eik.test on 2 Dec", "confirm_email": "ada@eik.test"})
    assert done.status_code in (303, 204)
    session.expire_all()
    assert session.get(User, ada_id) is None
    entries = list(session.scalars(select(AuditEntry).where(AuditEntry.entity == "user", AuditEntry.entity_id == ada_id)
                                   .order_by(AuditEntry.id)))
    assert [(e.action, e.area, e.actor_id) for e in entries] == [
        ("data_exported", "staff", agent.id), ("account_deleted", "staff", agent.id)]
    assert entries[1].reason == f"E-mail from Deleted user #{ada_id} on 2 Dec"  # the address is not kept


def test_a_staff_account_is_not_deleted_from_the_resident_page(client, login, session):
    agent = make_user(session, "agent@op.test", staff_role="support")
    session.commit()
    login(client, agent)
    response = client.post("/account/delete", data={"password": PASSWORD, "confirm_email": "agent@op.test"})
    assert response.status_code == 409 and "staff role" in response.get_data(as_text=True)


@pytest.fixture
def limited_app(app_config, db):
    from portal import create_app

    application = create_app({**app_config, "RATELIMIT_ENABLED": True})
    yield application
    application.extensions["portal_db"].dispose()


def test_the_export_is_rate_limited_per_account(limited_app, login, session, eik, redis_url):
    from redis import Redis

    from tests.conftest import browser_like_client

    Redis.from_url(redis_url).flushdb()
    site, ada, cp = eik
    c = browser_like_client(limited_app)
    login(c, ada)
    statuses = [c.post("/account/export").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
