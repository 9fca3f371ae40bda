"""Support and sales staff console under /staff: the blueprint and its pages (one module per area)."""
from __future__ import annotations

from portal.staff.common import bp

# Pages register themselves on bp when imported.
from portal.staff import admin, chargers, overview, people, remote, sales, sessions, sites, tickets  # noqa: E402,F401

__all__ = ["bp"]
