"""Resident pages: my chargers, start screen, live session, favourites, history, subscriptions, tags."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("resident", __name__)

# Views registered on this blueprint (imported last: they import bp from here).
from portal.resident import account, chargers, charging, find, statements  # noqa: E402,F401
