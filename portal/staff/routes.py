"""Support and sales staff console."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("staff", __name__)
