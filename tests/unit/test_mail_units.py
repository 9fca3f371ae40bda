"""SMTP_URL parsing and the MIME message built from an outbox row."""
from __future__ import annotations

import pytest

from portal.models import OutboxEmail
from worker.jobs.mail import SmtpTarget, build_message, parse_smtp_url


@pytest.mark.parametrize("url, target", [
    ("smtp://127.0.0.1:8025", SmtpTarget("smtp", "127.0.0.1", 8025)),
    ("smtp://mail.example.no", SmtpTarget("smtp", "mail.example.no", 25)),
    ("smtps://user:p%40ss@mail.example.no:465", SmtpTarget("smtps", "mail.example.no", 465, "user", "p@ss")),
    ("smtps://mail.example.no", SmtpTarget("smtps", "mail.example.no", 465)),
    ("smtp+starttls://u%2Bx:secret@smtp.example.se", SmtpTarget("smtp+starttls", "smtp.example.se", 587, "u+x", "secret")),
])
def test_parse_smtp_url(url, target):
    assert parse_smtp_url(url) == target


@pytest.mark.parametrize("url", ["", "http://mail.example.no", "smtp://", "mail.example.no:25"])
def test_parse_smtp_url_refuses_nonsense(url):
    with pytest.raises(ValueError, match="SMTP_URL"):
        parse_smtp_url(url)


def _row(**kw) -> OutboxEmail:
    fields = dict(id=7, to_address="ann@example.test", subject="Kvittering – ladeøkt", body_text="Hei\n",
                  body_html=None, language="nb")
    fields.update(kw)
    return OutboxEmail(**fields)


def test_text_only_message():
    msg = build_message(_row(), "Ladeportalen <no-reply@portal.example>")
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content().strip() == "Hei"
    assert msg["Subject"] == "Kvittering – ladeøkt"
    assert msg["Content-Language"] == "nb"
    assert msg["Message-ID"].endswith("@portal.example>")


def test_message_with_html_has_a_plain_text_part_first():
    msg = build_message(_row(body_html="<p>Hei</p>", language="sv"), "no-reply@portal.example")
    assert msg.get_content_type() == "multipart/alternative"
    types = [part.get_content_type() for part in msg.iter_parts()]
    assert types == ["text/plain", "text/html"]
    assert msg["Content-Language"] == "sv"
