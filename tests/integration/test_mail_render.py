"""Rendering e-mails in the recipient's language, outbox rows, links without a request."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from portal.services.people.mail import portal_url, queue_email, queue_templated_email, render_email

WHEN = datetime(2026, 3, 14, 12, 30, tzinfo=timezone.utc)  # 13:30 in Oslo and Stockholm
CTX = dict(name="Ann", reset_url="http://portal.test/reset/abc", expires_at=WHEN)


@pytest.mark.parametrize("language, written", [
    ("sv", r"2026-03-14 13:30"),
    ("nb", r"14\.03\.2026,? 13:30"),
    ("en", r"3/14/26,? 1:30\s?PM"),
])
def test_reset_mail_is_written_in_the_recipients_language(app, language, written):
    with app.app_context():
        mail = render_email("password_reset", language, **CTX)
    assert mail.subject and "\n" not in mail.subject
    assert re.search(written, mail.text), mail.text
    assert "http://portal.test/reset/abc" in mail.text and mail.text.endswith("\n")
    assert f'<html lang="{language}">' in mail.html
    assert 'href="http://portal.test/reset/abc"' in mail.html


def test_the_request_language_does_not_leak_into_the_mail(app, client):
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        sv = render_email("password_reset", "sv", **CTX)
    assert re.search(r"2026-03-14 13:30", sv.text)


def test_text_only_template_and_unknown_language(app):
    with app.app_context():
        mail = render_email("password_changed", "de", name="Ann", changed_at=WHEN, reset_url="http://x/reset")
    assert mail.html is None
    assert re.search(r"14\.03\.2026", mail.text)  # falls back to bokmål


def test_portal_url_without_a_request(app):
    with app.app_context():
        assert portal_url("auth.reset_password", token="abc") == "http://portal.test/reset/abc"
    app.config["PORTAL_BASE_URL"] = "https://lading.example.no/portal/"
    with app.app_context():
        assert portal_url("auth.login", next="/c/CP-1") == "https://lading.example.no/portal/login?next=/c/CP-1"


def test_queue_email_stores_a_queued_row(app, session):
    with app.app_context():
        row = queue_templated_email(session, to="ann@example.test", template="welcome", language="sv",
                                    name="Ann", login_url="http://portal.test/login")
    assert (row.status, row.kind, row.language, row.attempts) == ("queued", "welcome", "sv", 0)
    assert row.id is not None and row.body_html and row.subject


@pytest.mark.parametrize("to", ["", "not-an-address", "a@example.test, b@example.test", "a@example.test\r\nBcc: x@y"])
def test_queue_email_refuses_anything_but_one_address(session, to):
    with pytest.raises(ValueError):
        queue_email(session, to=to, subject="s", text="t")


def test_queue_email_keeps_headers_on_one_line(session):
    row = queue_email(session, to=" ann@example.test ", subject="Hello\r\nBcc: evil@example.test", text="t",
                      language="xx")
    assert row.subject == "Hello Bcc: evil@example.test"
    assert (row.to_address, row.language) == ("ann@example.test", "nb")
    with pytest.raises(ValueError):
        queue_email(session, to="ann@example.test", subject="s", text="  ")
