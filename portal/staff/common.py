"""Role checks and helpers shared by the staff console's pages."""
from __future__ import annotations

import functools
from typing import Callable

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.extensions import db_session
from portal.models import ChargePoint, Site
from portal.services.staff.roles import allowed

def staff_area(area: str) -> Callable:
    """Log-in required, then the user's staff role must cover `area` (roles.AREAS), else 403."""
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not allowed(current_user, area):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorate


def charger_or_404(identity: str) -> ChargePoint:
    cp = db_session().scalar(select(ChargePoint).where(ChargePoint.identity == identity))
    if cp is None:
        abort(404)
    return cp


def all_sites() -> list[Site]:
    return list(db_session().scalars(select(Site).order_by(Site.name)))


def site_by_slug(slug: str | None) -> Site | None:
    if not slug:
        return None
    return db_session().scalar(select(Site).where(Site.slug == slug))
