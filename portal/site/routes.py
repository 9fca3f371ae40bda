"""Site management for board members and operator admins."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("site", __name__)
