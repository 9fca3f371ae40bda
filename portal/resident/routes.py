"""Resident pages: my chargers, start screen, live session, favourites, history, subscriptions, tags."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("resident", __name__)
