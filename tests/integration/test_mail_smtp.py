"""The mail job against a real SMTP server (aiosmtpd): language, text part, retries, running twice."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from portal.db import utcnow
from portal.models import OutboxEmail
from portal.services.people import mail as mail_service
from tests.factories import make_user
from tests.support.mail import SmtpCatcher, reset_mail_queue, run_mail_jobs, text_part
from worker.jobs.mail import requeue_stuck_emails, send_outbox_email

SMTP_DOWN = "smtp://127.0.0.1:1"


@pytest.fixture
def smtp():
    catcher = SmtpCatcher()
    yield catcher
    catcher.stop()


@pytest.fixture
def worker_env(monkeypatch, database_url, redis_url, smtp):
    """The job reads DATABASE_URL, SMTP_URL and REDIS_URL from the environment, like the real worker."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("SMTP_URL", smtp.url)
    yield reset_mail_queue(redis_url)
    reset_mail_queue(redis_url)


def _row(session, outbox_id: int) -> OutboxEmail:
    session.expire_all()
    return session.get(OutboxEmail, outbox_id)


def _queue_one(session, to="ann@example.test", language="nb") -> int:
    row = mail_service.queue_email(session, to=to, subject="Hei – æøå", text="Plain body\n",
                                   html="<p>HTML body</p>", language=language, kind="test")
    session.commit()
    return row.id


def test_reset_mail_arrives_in_swedish_with_text_part_and_working_link(client, session, smtp, worker_env):
    make_user(session, "sven@example.test", language="sv", name="Sven")
    session.commit()
    assert client.post("/reset", data={"email": "sven@example.test"}).status_code == 200
    run_mail_jobs(client.application.config["REDIS_URL"])

    msg = smtp.wait_for(1)[0]
    assert msg["To"] == "sven@example.test"
    assert msg["Content-Language"] == "sv"
    assert msg.get_content_type() == "multipart/alternative"
    body = text_part(msg)
    assert "Sven" in body
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", body), "expiry time not written the Swedish way"
    assert '<html lang="sv">' in msg.get_body(preferencelist=("html",)).get_content()
    link = re.search(r"http://portal\.test(/reset/\S+)", body).group(1)

    assert client.get(link).status_code == 200
    response = client.post(link, data={"password": "a-new-password-1", "confirm": "a-new-password-1"})
    assert response.status_code == 303
    row = session.scalar(select(OutboxEmail))
    assert (row.status, row.attempts, row.kind, row.language) == ("sent", 1, "password_reset", "sv")


def test_running_the_job_twice_sends_once(session, smtp, worker_env):
    outbox_id = _queue_one(session)
    assert send_outbox_email(outbox_id) == "sent"
    assert send_outbox_email(outbox_id) == "already sent"
    assert len(smtp.wait_for(1)) == 1
    assert _row(session, outbox_id).attempts == 1


def test_job_through_rq_marks_row_sent(session, smtp, worker_env, redis_url):
    outbox_id = _queue_one(session, language="en")
    assert mail_service.enqueue_outbox(worker_env.connection, [outbox_id]) == ["outbox-email-%d" % outbox_id]
    run_mail_jobs(redis_url)
    msg = smtp.wait_for(1)[0]
    assert msg["Subject"] == "Hei – æøå"
    assert text_part(msg).strip() == "Plain body"
    row = _row(session, outbox_id)
    assert row.status == "sent" and row.sent_at is not None and row.last_error is None


def test_smtp_down_is_retried_then_marked_failed(session, worker_env, redis_url, monkeypatch):
    monkeypatch.setenv("SMTP_URL", SMTP_DOWN)
    monkeypatch.setattr(mail_service, "RETRY_INTERVALS_S", (0, 0))  # retry at once, so a burst worker sees it
    outbox_id = _queue_one(session)
    mail_service.enqueue_outbox(worker_env.connection, [outbox_id])
    run_mail_jobs(redis_url)
    row = _row(session, outbox_id)
    assert row.status == "failed"
    assert row.attempts == 3  # the first try and two retries
    assert "Connection" in row.last_error


def test_failed_attempt_is_recorded_and_a_later_retry_sends(session, smtp, worker_env, redis_url, monkeypatch):
    from rq.job import Job

    monkeypatch.setenv("SMTP_URL", SMTP_DOWN)
    outbox_id = _queue_one(session)
    mail_service.enqueue_outbox(worker_env.connection, [outbox_id])
    run_mail_jobs(redis_url)
    row = _row(session, outbox_id)
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.last_error
    job = Job.fetch(mail_service.job_id_for(outbox_id), connection=worker_env.connection)
    assert job.get_status() == "scheduled"  # RQ retries it after the back-off
    assert job.retries_left == len(mail_service.RETRY_INTERVALS_S) - 1

    assert send_outbox_email(outbox_id, smtp_url=smtp.url) == "sent"  # what the retry does
    row = _row(session, outbox_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)
    assert len(smtp.wait_for(1)) == 1


def test_permanent_refusal_fails_without_retry(session, smtp, worker_env):
    outbox_id = _queue_one(session, to="bounce@example.test")
    assert send_outbox_email(outbox_id).startswith("failed: SMTPRecipientsRefused")
    row = _row(session, outbox_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert send_outbox_email(outbox_id) == "already failed"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_with_credentials_from_the_url(session, worker_env):
    catcher = SmtpCatcher(credentials=("mailer", "p@ss word"))
    try:
        outbox_id = _queue_one(session)
        with pytest.raises(Exception, match="535|Authentication"):
            send_outbox_email(outbox_id, smtp_url=f"smtp://mailer:wrong@127.0.0.1:{catcher.port}")
        _row(session, outbox_id).status = "queued"  # a direct call has no retries left: put it back
        session.commit()
        url = f"smtp://mailer:p%40ss%20word@127.0.0.1:{catcher.port}"
        assert send_outbox_email(outbox_id, smtp_url=url) == "sent"
        assert len(catcher.wait_for(1)) == 1
    finally:
        catcher.stop()


def test_requeue_picks_up_stuck_rows_once(session, worker_env, redis_url):
    stuck = _queue_one(session)
    fresh = _queue_one(session)
    session.execute(update(OutboxEmail).where(OutboxEmail.id == stuck)
                    .values(created_at=utcnow() - timedelta(minutes=30)))
    session.commit()
    assert requeue_stuck_emails() == [stuck]
    assert worker_env.job_ids == [mail_service.job_id_for(stuck)]
    assert requeue_stuck_emails() == []  # its job is pending now
    assert requeue_stuck_emails(older_than_s=0) == [fresh]  # the young row, once old enough


def test_enqueue_with_redis_down_keeps_the_row_queued(session, caplog):
    from redis import Redis

    outbox_id = _queue_one(session)
    assert mail_service.enqueue_outbox(Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1),
                                       [outbox_id]) == []
    assert _row(session, outbox_id).status == "queued"
    assert "re-queued later" in caplog.text


def test_a_mail_given_up_keeps_no_working_link_either(session, smtp, worker_env):
    """Issue 23: a failed e-mail is never sent again by itself, so its stored copy loses the link too."""
    row = mail_service.queue_email(session, to="bounce@example.test", subject="Your order",
                                   text="Follow it: http://portal.test/order/o/AbCdEfGhIjKlMnOpQrStUvWx1234\n",
                                   html='<a href="http://portal.test/support/t/AbCdEfGhIjKlMnOpQrStUvWx1234">x</a>',
                                   kind="order_confirmation")
    session.commit()
    assert send_outbox_email(row.id).startswith("failed: SMTPRecipientsRefused")
    row = _row(session, row.id)
    assert "AbCdEfGh" not in row.body_text and "AbCdEfGh" not in row.body_html
    assert "/order/o/[redacted]" in row.body_text
