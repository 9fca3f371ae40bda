"""Access checks and helpers shared by the site pages."""
from __future__ import annotations

from typing import TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from portal.extensions import db_session
from portal.models import Site
from portal.services.charging.access import can_manage_site

T = TypeVar("T")

def managed_site(slug: str) -> Site:
    """The site by slug, if the current user may manage it: 404 when unknown, 403 otherwise."""
    session = db_session()
    site = session.scalar(select(Site).where(Site.slug == slug))
    if site is None:
        abort(404)
    if not can_manage_site(session, current_user, site.id):
        abort(403)
    return site


def site_object(model: type[T], object_id: int, site: Site) -> T:
    """A row of `model` that belongs to `site`; anything else is 404 (never another site's data)."""
    obj = db_session().get(model, object_id)
    if obj is None or getattr(obj, "site_id", None) != site.id:
        abort(404)
    return obj
