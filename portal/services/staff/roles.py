"""Which staff role may do what in the console. One table, read by the views and the services."""
from __future__ import annotations

from portal.models import User

# area -> staff roles allowed there (admin is in every area).
AREAS = {
    "overview": ("support", "sales", "admin"),
    "support": ("support", "admin"),   # tickets, chargers, remote actions, stuck sessions, FAQ
    "sales": ("sales", "admin"),       # leads, orders, cooperatives' agreement settings
    "admin": ("admin",),               # staff accounts and roles
}


class NotAllowed(Exception):
    """The user's role does not cover this part of the console."""


def allowed(user: User | None, area: str) -> bool:
    return bool(user is not None and getattr(user, "staff_role", None) in AREAS[area])


def require(user: User | None, area: str) -> None:
    """Raise NotAllowed unless the user's staff role covers the area (services check it too)."""
    if not allowed(user, area):
        raise NotAllowed(area)
