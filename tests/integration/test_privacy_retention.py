"""The retention table of SECURITY.md, applied by the daily job worker.jobs.retention.apply_retention."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.db import utcnow
from portal.models import Invite, LoginSession, OutboxEmail, SupportTicket, User
from portal.services.people import login_sessions
from tests.factories import make_site, make_user


def test_the_daily_job_removes_what_is_past_its_period_and_keeps_the_rest(db, session, database_url, monkeypatch):
    from worker.jobs.retention import apply_retention
    from worker.periodic import periodic_jobs

    assert any(j.func == "worker.jobs.retention.apply_retention" and j.cron for j in periodic_jobs())
    now = utcnow()
    site = make_site(session)
    keep = make_user(session, "keep@r.test", site=site)
    old_unconfirmed = make_user(session, "never@r.test")
    old_unconfirmed.email_verified_at, old_unconfirmed.created_at = None, now - timedelta(days=40)
    fresh_unconfirmed = make_user(session, "new@r.test")
    fresh_unconfirmed.email_verified_at = None
    login_sessions.start(session, keep, remember=False)
    session.execute(LoginSession.__table__.update().values(last_seen_at=now - timedelta(days=2),
                                                           created_at=now - timedelta(days=2)))
    session.add_all([
        OutboxEmail(to_address="keep@r.test", subject="old", body_text="old text", status="sent",
                    created_at=now - timedelta(days=40)),
        OutboxEmail(to_address="keep@r.test", subject="new", body_text="new text", status="sent"),
        OutboxEmail(to_address="keep@r.test", subject="ancient", body_text="x", status="sent",
                    created_at=now - timedelta(days=400)),
        Invite(site_id=site.id, email="gone@r.test", token_hash="b" * 64, status="pending",
               expires_at=now - timedelta(days=100)),
        Invite(site_id=site.id, email="soon@r.test", token_hash="c" * 64, status="pending",
               expires_at=now + timedelta(days=10)),
        SupportTicket(requester_email="v@r.test", status="closed", access_token_hash="d" * 64,
                      access_token_used_at=now - timedelta(days=200), updated_at=now - timedelta(days=1200)),
        SupportTicket(requester_email="w@r.test", status="open", access_token_hash="e" * 64,
                      access_token_used_at=now - timedelta(days=200)),
    ])
    session.commit()
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = apply_retention(database_url)
    session.expire_all()
    assert result["unconfirmed_accounts"] == 1 and result["login_sessions"] == 1 and result["invites"] == 1
    assert {u.email for u in session.scalars(select(User))} == {"keep@r.test", "new@r.test"}
    mails = {m.subject: m.body_text for m in session.scalars(select(OutboxEmail))}
    assert mails == {"old": "", "new": "new text"}
    assert [i.email for i in session.scalars(select(Invite))] == ["soon@r.test"]
    tickets = list(session.scalars(select(SupportTicket)))
    assert [(t.requester_email, t.access_token_hash) for t in tickets] == [("w@r.test", None)]
    assert apply_retention(database_url)["outbox"] == 0  # safe to run twice
