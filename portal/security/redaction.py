"""Secrets that must not outlive their use: link tokens in log lines and in sent e-mails.

Reset, invite and confirmation links and the private links of visitors' tickets and orders carry a
bearer token in the path (/reset/<token>, /invite/<token>, /verify/<token>, /support/t/<token>,
/order/o/<token>; also URL-encoded inside a `next=`). `RedactSecretPaths` is a logging filter that
replaces the token with "[redacted]" in every record it sees (access logs of gunicorn and Werkzeug,
and our own logs); `redact_links` does the same to a text, e.g. an e-mail body once it has been sent.
"""
from __future__ import annotations

import logging
import re
from collections.abc import MutableMapping

_SLASH = r"(?:/|%2F)"
# /reset/, /invite/, /verify/ and the private links /support/t/, /order/o/ and /visit/, then the token.
SECRET_PATH = re.compile(rf"({_SLASH}(?:reset|invite|verify|visit|support{_SLASH}t|order{_SLASH}o){_SLASH})"
                         r"([^\s/?#&%\"'<>\\]+)", re.IGNORECASE)
REDACTED = "[redacted]"
ACCESS_LOGGERS = ("gunicorn.access", "gunicorn.error", "werkzeug")


def redact_links(text: str) -> str:
    """`text` with the token of every reset, invite or confirmation link replaced."""
    return SECRET_PATH.sub(lambda m: m.group(1) + REDACTED, text) if text else text


class RedactSecretPaths(logging.Filter):
    """Rewrites a record's message and arguments so no link token reaches a log file."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_links(record.msg)
        args = record.args
        if isinstance(args, MutableMapping):  # gunicorn's access-log atoms: change in place, keep the class
            for key, value in list(args.items()):
                if isinstance(value, str):
                    args[key] = redact_links(value)
        elif isinstance(args, tuple):
            record.args = tuple(redact_links(a) if isinstance(a, str) else a for a in args)
        return True


def install_log_filters() -> None:
    """Put the filter on the access loggers and on every root handler (once)."""
    targets = [logging.getLogger(name) for name in ACCESS_LOGGERS]
    targets += list(logging.getLogger().handlers)
    for target in targets:
        if not any(isinstance(f, RedactSecretPaths) for f in target.filters):
            target.addFilter(RedactSecretPaths())
