"""A resident's favourite charge points and locations (whole sites)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from portal.models import ChargePoint, Favourite, Site, User
from portal.services.charging.access import can_see_charge_point, can_view_site


def favourites(session: Session, user: User) -> list[Favourite]:
    """The user's favourites they can still see, charge points first, each group by name."""
    rows = session.scalars(
        select(Favourite).options(joinedload(Favourite.charge_point), joinedload(Favourite.site))
        .where(Favourite.user_id == user.id).order_by(Favourite.created_at)
    ).unique()
    visible = [f for f in rows if _visible(session, user, f)]
    return sorted(visible, key=lambda f: (f.charge_point is None, _label(f).lower()))


def _visible(session: Session, user: User, fav: Favourite) -> bool:
    if fav.charge_point is not None:
        return can_see_charge_point(session, user, fav.charge_point)
    return fav.site is not None and can_view_site(session, user, fav.site.id)


def _label(fav: Favourite) -> str:
    return fav.charge_point.display_name if fav.charge_point is not None else fav.site.name


def find(session: Session, user: User, *, cp: ChargePoint | None = None, site: Site | None = None) -> Favourite | None:
    query = select(Favourite).where(Favourite.user_id == user.id)
    if cp is not None:
        query = query.where(Favourite.charge_point_id == cp.id)
    else:
        query = query.where(Favourite.site_id == site.id)
    return session.scalar(query)


def add(session: Session, user: User, *, cp: ChargePoint | None = None, site: Site | None = None) -> Favourite:
    """Make a charge point or a site a favourite (idempotent). The caller has checked access."""
    existing = find(session, user, cp=cp, site=site)
    if existing is not None:
        return existing
    fav = Favourite(user_id=user.id, charge_point_id=cp.id if cp else None, site_id=site.id if site else None)
    session.add(fav)
    session.flush()
    return fav


def remove(session: Session, user: User, favourite_id: int) -> bool:
    """Remove one of the user's own favourites; False when it is not theirs (or gone already)."""
    fav = session.get(Favourite, favourite_id)
    if fav is None or fav.user_id != user.id:
        return False
    session.delete(fav)
    session.flush()
    return True


def remove_target(session: Session, user: User, *, cp: ChargePoint | None = None, site: Site | None = None) -> bool:
    fav = find(session, user, cp=cp, site=site)
    return remove(session, user, fav.id) if fav is not None else False
