"""Test helpers for e-mail: a real SMTP server (aiosmtpd) on a free port, and an in-process RQ worker.

    catcher = SmtpCatcher()            # catcher.url == "smtp://127.0.0.1:PORT"
    ... run_mail_jobs(redis_url) ...   # runs every job on the mail queue, in this process
    msg = catcher.wait_for(1)[0]       # email.message.EmailMessage (policy.default)
    catcher.stop()
"""
from __future__ import annotations

import email
import errno
import threading
import time
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.services import free_port


class _Collect:
    def __init__(self, catcher: "SmtpCatcher") -> None:
        self.catcher = catcher

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("bounce"):  # a permanent refusal, for tests of 5xx handling
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self.catcher.lock:
            self.catcher.messages.append(msg)
            self.catcher.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpCatcher:
    """A real SMTP server in a thread; ``messages`` holds every mail that arrived.

    With ``credentials=(user, password)`` it requires AUTH (allowed without TLS, for tests)."""

    def __init__(self, credentials: tuple[str, str] | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()
        kwargs = {}
        if credentials:
            kwargs = dict(authenticator=self._authenticator(credentials), auth_require_tls=False, auth_required=True)
        for attempt in range(4):  # a free port can be taken by another process before we bind it
            self.port = free_port()
            self.controller = Controller(_Collect(self), hostname="127.0.0.1", port=self.port, **kwargs)
            try:
                self.controller.start()
                return
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE or attempt == 3:
                    raise

    @staticmethod
    def _authenticator(credentials: tuple[str, str]):
        def check(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and (
                auth_data.login.decode(), auth_data.password.decode()) == credentials
            return AuthResult(success=ok, handled=False)
        return check

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} e-mail(s), {len(self.messages)} arrived")

    def stop(self) -> None:
        self.controller.stop()


def text_part(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None, "the e-mail has no text/plain part"
    return part.get_content()


def mail_queue(redis_url: str):
    from redis import Redis
    from rq import Queue

    from portal.services.people.mail import MAIL_QUEUE

    return Queue(MAIL_QUEUE, connection=Redis.from_url(redis_url))


def run_mail_jobs(redis_url: str) -> None:
    """Run every job on the mail queue (and immediate retries) in this process, then return."""
    from rq import SimpleWorker

    queue = mail_queue(redis_url)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def reset_mail_queue(redis_url: str):
    """Empty the mail queue and its registries (row ids restart after the tables are cleaned)."""
    queue = mail_queue(redis_url)
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    for registry in (queue.scheduled_job_registry, queue.failed_job_registry, queue.finished_job_registry,
                     queue.started_job_registry, queue.deferred_job_registry):
        # RQ 3's started registry cannot remove entries (NotImplementedError), and an earlier test's
        # worker killed mid-job (cron's e-mail re-queue) can leave one there: delete jobs and keys directly.
        for job_id in registry.get_job_ids():
            try:
                Job.fetch(job_id, connection=queue.connection).delete(remove_from_queue=True)
            except NoSuchJobError:
                pass
        queue.connection.delete(registry.key)
    queue.empty()
    return queue
