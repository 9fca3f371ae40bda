"""The audit trail of site management: who changed what, with the values before and after."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, User
from portal.services.people.secrets import hide_secret_values


def _plain(value: Any) -> Any:
    """A JSON-safe copy of a column value (Decimal and datetimes become text)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return value


def snapshot(obj: Any, fields: Iterable[str]) -> dict:
    """The named attributes of an object as a JSON-safe dict."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def changed(before: dict | None, after: dict | None) -> bool:
    return (before or {}) != (after or {})


def record(session: Session, actor: User | None, site_id: int | None, entity: str, entity_id: int | None,
           action: str, before: dict | None = None, after: dict | None = None, *, area: str = "site",
           reason: str | None = None) -> AuditEntry:
    """Write one audit entry (flushes, never commits). Staff console entries use area="staff" and a reason.
    An AuthorizationKey value in before/after is blanked."""
    before, after = hide_secret_values(before), hide_secret_values(after)
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None, site_id=site_id, entity=entity,
        entity_id=entity_id, action=action, area=area, reason=reason,
        before={k: _plain(v) for k, v in before.items()} if before is not None else None,
        after={k: _plain(v) for k, v in after.items()} if after is not None else None,
    )
    session.add(entry)
    session.flush()
    return entry


def recent(session: Session, site_id: int, limit: int = 100) -> list[AuditEntry]:
    """The newest entries of a site first."""
    return list(session.scalars(
        select(AuditEntry).where(AuditEntry.site_id == site_id, AuditEntry.area == "site")
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit)
    ))


def staff_log(session: Session, *, site_id: int | None = None, entity: str | None = None,
              entity_id: int | None = None, limit: int = 100) -> list[AuditEntry]:
    """The staff console's own entries (newest first), optionally for one site or one object."""
    query = select(AuditEntry).where(AuditEntry.area == "staff")
    if site_id is not None:
        query = query.where(AuditEntry.site_id == site_id)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    return list(session.scalars(query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit)))


def _filtered(site_id: int, actor_id: int | None, entity: str | None, since: datetime | None,
              until: datetime | None):
    # The board reads its own site's changes; the staff console's entries (area "staff") are not theirs.
    query = select(AuditEntry).where(AuditEntry.site_id == site_id, AuditEntry.area == "site")
    if actor_id is not None:
        query = query.where(AuditEntry.actor_id == actor_id)
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if since is not None:
        query = query.where(AuditEntry.created_at >= since)
    if until is not None:
        query = query.where(AuditEntry.created_at < until)
    return query


def search(session: Session, site_id: int, *, actor_id: int | None = None, entity: str | None = None,
           since: datetime | None = None, until: datetime | None = None, offset: int = 0,
           limit: int = 50) -> tuple[list[AuditEntry], int]:
    """One page of a site's entries, newest first, by person, kind and time; and how many match in all."""
    query = _filtered(site_id, actor_id, entity, since, until)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
                           .offset(offset).limit(limit))
    return list(rows), total


def actors(session: Session, site_id: int) -> list[User]:
    """Everyone who has changed something on the site (for the person filter)."""
    ids = select(AuditEntry.actor_id).where(AuditEntry.site_id == site_id, AuditEntry.area == "site",
                                            AuditEntry.actor_id.is_not(None))
    return list(session.scalars(select(User).where(User.id.in_(ids)).order_by(User.name, User.email)))
