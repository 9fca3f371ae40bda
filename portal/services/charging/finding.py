"""Finding a charger: search by name, identity or site among the chargers a user may use, and a
site's chargers as one user sees them (Flask-free)."""
from __future__ import annotations

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from portal.models import ChargePoint, Site, User
from portal.services.charging.access import member_site_ids

MIN_QUERY = 2
MAX_RESULTS = 20


def _usable(user: User, site_ids: set[int]):
    """Chargers the user may use: public ones anywhere, their own personal charger, and the other
    chargers of sites they belong to (staff: all)."""
    if user.is_staff:
        return ChargePoint.id.is_not(None)
    own_site = ChargePoint.site_id.in_(site_ids) if site_ids else false()
    return or_(ChargePoint.cp_type == "public", ChargePoint.owner_id == user.id,
               own_site & (ChargePoint.cp_type != "personal"))


def search(session: Session, user: User, text: str) -> list[ChargePoint]:
    """Chargers whose name, identity or site name contains the text (at least two letters)."""
    cleaned = "".join(ch for ch in text.strip().lower() if ch not in "\\%_")  # LIKE wildcards are not syntax
    if len(cleaned) < MIN_QUERY:
        return []
    like = f"%{cleaned}%"
    query = (select(ChargePoint).join(Site, Site.id == ChargePoint.site_id)
             .where(_usable(user, member_site_ids(session, user.id)))
             .where(or_(func.lower(ChargePoint.name).like(like), func.lower(ChargePoint.identity).like(like),
                        func.lower(Site.name).like(like)))
             .options(selectinload(ChargePoint.site), selectinload(ChargePoint.connectors))
             .order_by(Site.name, ChargePoint.name, ChargePoint.identity).limit(MAX_RESULTS))
    return list(session.scalars(query))


def site_chargers(session: Session, user: User, site: Site) -> list[ChargePoint] | None:
    """The site's chargers this user may use (public ones for everybody); None when there is nothing
    for them to see there (not a member and no public charger)."""
    site_ids = member_site_ids(session, user.id)
    cps = list(session.scalars(
        select(ChargePoint).where(ChargePoint.site_id == site.id, _usable(user, site_ids))
        .options(selectinload(ChargePoint.connectors)).order_by(ChargePoint.name, ChargePoint.identity)))
    if not cps and site.id not in site_ids and not user.is_staff:
        return None
    return cps
