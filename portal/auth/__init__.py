"""Accounts: log in and out (login.py), registration (register.py), password reset (reset.py) and the
account page (account.py), on the blueprint ``bp``. The rate limiter is wired when it is registered."""
from __future__ import annotations

from flask import Blueprint

from portal.auth.limits import init_limiter

bp = Blueprint("auth", __name__)
bp.record_once(lambda state: init_limiter(state.app))

from portal.auth import account, login, privacy, register, reset  # noqa: E402,F401  (registers their views on bp)
