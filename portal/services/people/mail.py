"""E-mail: render in the recipient's language, store in the outbox, hand to the worker after commit.

Every e-mail is an OutboxEmail row first (``queue_email``, flush only, inside the caller's
transaction); after the caller commits, ``enqueue_outbox`` gives the ids to RQ, and the job
``worker.jobs.mail.send_outbox_email`` sends them. Rows whose job got lost (Redis down at commit
time) are picked up again by the periodic ``requeue_stuck_emails`` job.

    mail = render_email("password_reset", user.language, reset_url=url, expires_at=when)
    row = queue_email(session, to=user.email, language=user.language, kind="password_reset", **mail.fields())
    session.commit()
    enqueue_outbox(redis_conn(), [row.id])
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterable
from urllib.parse import urlsplit

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from portal.models import OutboxEmail

log = logging.getLogger(__name__)

MAIL_QUEUE = "mail"
SEND_JOB = "worker.jobs.mail.send_outbox_email"
JOB_TIMEOUT_S = 60
# RQ retries after a failed attempt (needs a worker running its scheduler, `rq worker --with-scheduler`).
RETRY_INTERVALS_S = (30, 120, 600, 1800, 3600)
LANGUAGES = ("nb", "sv", "en")


def job_id_for(outbox_id: int) -> str:
    """One RQ job id per outbox row, so a re-queue can see whether a job is still pending."""
    return f"outbox-email-{outbox_id}"


def queue_email(
    session: Session,
    *,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    language: str = "nb",
    kind: str = "",
) -> OutboxEmail:
    """Store one e-mail in the outbox (flush only; the caller commits, then calls enqueue_outbox)."""
    to = to.strip()
    if not to or "@" not in to or any(c in to for c in "\r\n,;"):
        raise ValueError(f"not a single e-mail address: {to!r}")
    subject = " ".join(subject.split())  # no header injection through line breaks
    if not text.strip():
        raise ValueError("an e-mail needs a plain-text body")
    row = OutboxEmail(
        to_address=to, subject=subject[:200], body_text=text, body_html=html,
        language=language if language in LANGUAGES else "nb", kind=kind[:40], status="queued",
    )
    session.add(row)
    session.flush()
    return row


def enqueue_outbox(redis_conn: Redis, ids: Iterable[int]) -> list[str]:
    """Hand committed outbox rows to the mail queue; returns the job ids.

    Call only after the commit. A Redis failure is logged, not raised: the row stays 'queued'
    and the periodic re-queue job sends it later."""
    from rq import Queue, Retry

    ids = list(ids)
    if not ids:
        return []
    queue = Queue(MAIL_QUEUE, connection=redis_conn)
    jobs = [
        Queue.prepare_data(
            SEND_JOB, args=(int(i),), job_id=job_id_for(int(i)), timeout=JOB_TIMEOUT_S,
            result_ttl=24 * 3600, failure_ttl=7 * 24 * 3600,
            retry=Retry(max=len(RETRY_INTERVALS_S), interval=list(RETRY_INTERVALS_S)),
        )
        for i in ids
    ]
    try:
        return [job.id for job in queue.enqueue_many(jobs)]
    except RedisError as exc:
        log.warning("could not enqueue outbox e-mails %s (re-queued later): %s", ids, exc)
        return []


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str | None

    def fields(self) -> dict:
        return {"subject": self.subject, "text": self.text, "html": self.html}


def render_email(template: str, language: str, **context) -> RenderedEmail:
    """Render templates/email/<template>.txt (blocks ``subject`` and ``body``) and the optional
    .html (block ``body``) in ``language``. Needs an app context (a request is not required)."""
    from flask import current_app
    from flask_babel import force_locale
    from jinja2 import TemplateNotFound
    from jinja2_fragments.flask import render_block

    language = language if language in LANGUAGES else "nb"
    context = {"language": language, "base_url": current_app.config["PORTAL_BASE_URL"], **context}
    with force_locale(language):
        subject = render_block(f"email/{template}.txt", "subject", **context)
        text = render_block(f"email/{template}.txt", "body", **context)
        try:
            html = current_app.jinja_env.get_template(f"email/{template}.html").render(
                subject=subject, **context)
        except TemplateNotFound:
            html = None
    return RenderedEmail(" ".join(subject.split()), text.strip() + "\n", html)


def portal_url(endpoint: str, **values) -> str:
    """An absolute link into the portal for an e-mail, from PORTAL_BASE_URL (works without a request)."""
    from flask import current_app

    base = urlsplit(current_app.config["PORTAL_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http")
    return adapter.build(endpoint, values, force_external=True)


def queue_templated_email(
    session: Session, *, to: str, template: str, language: str, kind: str = "", **context
) -> OutboxEmail:
    """render_email + queue_email in one call (flush only)."""
    mail = render_email(template, language, **context)
    return queue_email(session, to=to, language=language, kind=kind or template, **mail.fields())
