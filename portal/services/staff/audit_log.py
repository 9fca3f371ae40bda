"""The staff console's audit log, filtered (who, what, which object, when) and a page at a time, with the
names of the objects its entries mention looked up in one go per kind."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from portal.models import AuditEntry, ChargePoint, ChargerOrder, Lead, Site, SupportTicket, User

PAGE = 50
# kind of object -> (model, how it is named)
NAMED = {
    "user": (User, lambda u: u.email),
    "charge_point": (ChargePoint, lambda c: c.identity),
    "site": (Site, lambda s: s.name),
    "lead": (Lead, lambda lead: lead.org_name),
    "charger_order": (ChargerOrder, lambda o: f"#{o.id} · {o.parking_space}"),
    "ticket": (SupportTicket, lambda t: f"#{t.id} · {t.subject}"),
}


@dataclass(frozen=True)
class AuditFilter:
    actor_id: int | None = None
    action: str = ""
    entity: str = ""
    entity_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    page: int
    has_older: bool
    names: dict[tuple[str, int], object]  # (kind, id) -> the object, for its name and link


def _query(flt: AuditFilter):
    query = select(AuditEntry).where(AuditEntry.area == "staff")
    if flt.actor_id is not None:
        query = query.where(AuditEntry.actor_id == flt.actor_id)
    if flt.action:
        query = query.where(AuditEntry.action == flt.action)
    if flt.entity:
        query = query.where(AuditEntry.entity == flt.entity)
    if flt.entity_id is not None:
        query = query.where(AuditEntry.entity_id == flt.entity_id)
    if flt.since is not None:
        query = query.where(AuditEntry.created_at >= flt.since)
    if flt.until is not None:
        query = query.where(AuditEntry.created_at < flt.until)
    return query


def objects(session: Session, entries: list[AuditEntry]) -> dict[tuple[str, int], object]:
    """The objects the entries are about, by (kind, id); a deleted object is simply missing."""
    found: dict[tuple[str, int], object] = {}
    for kind, (model, _name) in NAMED.items():
        ids = {e.entity_id for e in entries if e.entity == kind and e.entity_id is not None}
        if ids:
            found.update({(kind, obj.id): obj for obj in session.scalars(select(model).where(model.id.in_(ids)))})
    return found


def name_of(kind: str, obj: object) -> str:
    return NAMED[kind][1](obj)


def entries(session: Session, flt: AuditFilter, page: int = 1, size: int = PAGE) -> AuditPage:
    """One page of the staff entries, newest first (page 1 is the newest)."""
    page = max(page, 1)
    rows = list(session.scalars(_query(flt).options(selectinload(AuditEntry.actor))
                                .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
                                .offset((page - 1) * size).limit(size + 1)))
    return AuditPage(rows[:size], page, len(rows) > size, objects(session, rows[:size]))


def actors(session: Session) -> list[User]:
    """Everyone who has an entry in the staff log, for the 'who' filter."""
    ids = select(AuditEntry.actor_id).where(AuditEntry.area == "staff", AuditEntry.actor_id.is_not(None))
    return list(session.scalars(select(User).where(User.id.in_(ids)).order_by(User.email)))


def logged(session: Session, column) -> list[str]:
    """The distinct values of a column (action or entity) in the staff log, for the filters."""
    return sorted(v for v in session.scalars(select(func.distinct(column)).where(AuditEntry.area == "staff")) if v)
