"""Sending the e-mail outbox through SMTP (SMTP_URL), one RQ job per row.

``send_outbox_email(outbox_id)`` is enqueued by ``portal.services.people.mail.enqueue_outbox`` with an
RQ Retry and back-off. It is safe to run twice, even at the same time: an attempt first claims the
row with a conditional UPDATE (attempts = seen + 1), and only 'queued' rows are sent, so a 'sent'
row is never sent again (to try a 'failed' row again, set it back to 'queued' and enqueue it).
While retries remain, a failed attempt leaves the row 'queued' with ``attempts`` and
``last_error`` filled in; the last failed attempt (or a permanent refusal) marks it 'failed'.
Once a row is 'sent' or 'failed', its stored body has every link token taken out
(``portal.security.redaction``): a 'failed' row set back to 'queued' sends no working link, so the
person asks for a new one (reset form, /links).

``requeue_stuck_emails()`` is the periodic safety net for rows whose job was lost (Redis down at
commit time, a flushed queue): every 'queued' row older than a few minutes without a pending job
is enqueued again.

SMTP_URL: ``smtp://host:port`` (plain), ``smtps://user:pass@host:port`` (TLS from the start),
``smtp+starttls://user:pass@host:port`` (STARTTLS). User and password are URL-decoded.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import unquote, urlsplit

from sqlalchemy import select, update

from portal import settings
from portal.db import Database, utcnow
from portal.models import OutboxEmail
from portal.security.redaction import redact_links
from portal.services.people.erasure import ERASE_WHEN_SENT

log = logging.getLogger(__name__)

SMTP_TIMEOUT_S = 20
MAX_ATTEMPTS = 10
DEFAULT_PORTS = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}


@dataclass(frozen=True)
class SmtpTarget:
    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None


def parse_smtp_url(url: str) -> SmtpTarget:
    """smtp://host:port, smtps://user:pass@host:port or smtp+starttls://user:pass@host:port."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"SMTP_URL must look like smtp://host:port, smtps://... or smtp+starttls://..., "
                         f"not {parts.scheme or '?'}://{parts.hostname or '?'}")
    return SmtpTarget(
        scheme=scheme, host=parts.hostname, port=parts.port or DEFAULT_PORTS[scheme],
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def build_message(row: OutboxEmail, sender: str) -> EmailMessage:
    """A MIME message: always a text/plain part, plus text/html as an alternative when present."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = row.to_address
    msg["Subject"] = row.subject
    msg["Date"] = formatdate(localtime=False)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    msg["Message-ID"] = make_msgid(idstring=f"outbox{row.id}", domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(row.body_text)
    if row.body_html:
        msg.add_alternative(row.body_html, subtype="html")
    msg["Content-Language"] = row.language  # after set_content, which clears Content-* headers
    return msg


def deliver(target: SmtpTarget, msg: EmailMessage) -> None:
    """Send one message; raises smtplib/OSError exceptions on failure."""
    context = ssl.create_default_context()
    if target.scheme == "smtps":
        client = smtplib.SMTP_SSL(target.host, target.port, timeout=SMTP_TIMEOUT_S, context=context)
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT_S)
    with client:
        if target.scheme == "smtp+starttls":
            client.starttls(context=context)
        if target.username:
            client.login(target.username, target.password or "")
        client.send_message(msg)


def _is_permanent(exc: Exception) -> bool:
    """A 5xx refusal of the recipient or the message: trying again will not help."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)):
        return exc.smtp_code >= 500
    return False


def _retries_left() -> bool:
    from rq import get_current_job

    job = get_current_job()
    return bool(job is not None and job.retries_left)


def send_outbox_email(outbox_id: int, database_url: str | None = None, smtp_url: str | None = None) -> str:
    """Send one outbox row; returns what happened. Raises on a transient failure so RQ retries."""
    db = Database.from_url(database_url or settings.get("database_url"))
    try:
        with db.session() as session:
            row = session.get(OutboxEmail, outbox_id)
            if row is None:
                log.warning("outbox e-mail %s does not exist", outbox_id)
                return "missing"
            if row.status != "queued":
                return f"already {row.status}"
            claimed = session.execute(
                update(OutboxEmail)
                .where(OutboxEmail.id == outbox_id, OutboxEmail.status == "queued",
                       OutboxEmail.attempts == row.attempts)
                .values(attempts=row.attempts + 1)
            ).rowcount
            session.commit()
            if not claimed:
                log.info("outbox e-mail %s is being sent by another attempt", outbox_id)
                return "claimed elsewhere"
            session.refresh(row)
            try:
                deliver(parse_smtp_url(smtp_url or settings.get("smtp_url")), build_message(row, settings.get("mail_from")))
            except (smtplib.SMTPException, OSError, ValueError) as exc:
                return _record_failure(session, row, exc)
            row.status, row.sent_at, row.last_error = "sent", utcnow(), None
            # The copy we keep must not work as a reset, invite or confirmation link.
            row.body_text = redact_links(row.body_text)
            row.body_html = redact_links(row.body_html) if row.body_html else row.body_html
            if row.kind in ERASE_WHEN_SENT:  # the last e-mail to a deleted account: no copy stays
                session.delete(row)
            session.commit()
            log.info("sent e-mail %s (%s)", outbox_id, row.kind or "-")
            return "sent"
    finally:
        db.dispose()


def _record_failure(session, row: OutboxEmail, exc: Exception) -> str:
    permanent = _is_permanent(exc)
    give_up = permanent or row.attempts >= MAX_ATTEMPTS or not _retries_left()
    row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    row.status = "failed" if give_up else "queued"
    if give_up:  # never sent again by itself: the copy kept must not work as a private link either
        row.body_text = redact_links(row.body_text)
        row.body_html = redact_links(row.body_html) if row.body_html else row.body_html
    session.commit()
    log.warning("e-mail %s attempt %d failed%s: %s", row.id, row.attempts,
                " (giving up)" if give_up else " (will retry)", row.last_error)
    if permanent:
        return "failed: " + row.last_error
    raise exc


def requeue_stuck_emails(database_url: str | None = None, redis_url: str | None = None,
                         older_than_s: int = 300) -> list[int]:
    """Enqueue again every 'queued' row older than ``older_than_s`` that has no pending RQ job."""
    from redis import Redis
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    from portal.services.people.mail import enqueue_outbox, job_id_for

    pending = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED}
    db = Database.from_url(database_url or settings.get("database_url"))
    redis_conn = Redis.from_url(redis_url or settings.get("redis_url"))
    try:
        with db.session() as session:
            ids = list(session.scalars(
                select(OutboxEmail.id).where(OutboxEmail.status == "queued",
                                             OutboxEmail.created_at < utcnow() - timedelta(seconds=older_than_s))
                .order_by(OutboxEmail.id).limit(1000)
            ))
        stuck = []
        for outbox_id in ids:
            try:
                if Job.fetch(job_id_for(outbox_id), connection=redis_conn).get_status() in pending:
                    continue
            except NoSuchJobError:
                pass
            stuck.append(outbox_id)
        if stuck:
            enqueue_outbox(redis_conn, stuck)
            log.info("re-queued %d stuck e-mail(s)", len(stuck))
        return stuck
    finally:
        redis_conn.close()
        db.dispose()
