"""Security events in one log ("portal.auth"): who did what, from which address. Never a password,
token or e-mail address: users are named by id."""
from __future__ import annotations

import logging

from flask import has_request_context, request

log = logging.getLogger("portal.auth")


def security_event(message: str, *args: object) -> None:
    """Log `message % args`, followed by the client's address when there is a request."""
    where = request.remote_addr if has_request_context() else "the command line"
    log.info(message + " from %s", *args, where)
