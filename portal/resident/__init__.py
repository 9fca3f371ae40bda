"""Resident pages: my chargers, start screen, live session, favourites, history, subscriptions, tags,
statements and finding a charger, on the blueprint ``bp`` (one module per area)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("resident", __name__)

from portal.resident import account, chargers, charging, find, incidents, statements  # noqa: E402,F401  (registers their views on bp)
