"""The local authorisation list: the residents' tags a charger accepts on its own while the garage is offline.

Which tags: RFID tags, not blocked, of active people who may start at this charger by the start rule
(portal.services.charging.access: a personal charger's owner; a site member with a tariff that lets them
charge), judged without the connector's state and whether the charger is enabled (a disabled charger is
Inoperative anyway). The list goes Full first, then as Differential updates (added tags with idTagInfo,
removed tags without), each a new version; a charger that reports a version other than the one it
accepted last gets the Full list again. `LocalAuthListMaxLength` caps the list (the rest are left out and
counted) and `SendLocalListMaxLength` splits a send into parts (a Full part, then Differential parts).
Flask-free; functions flush, never commit."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import ChargePoint, IdTag, LocalListState, Membership, User
from portal.services.charging import access

FULL, DIFFERENTIAL = "Full", "Differential"
USABLE_REASONS = ("ok", "disabled")


@dataclass
class Part:
    version: int
    update_type: str
    items: list[dict]


@dataclass
class Plan:
    parts: list[Part] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # the list the charger holds once every part is accepted
    left_out: int = 0


def holders(session: Session, cp: ChargePoint) -> list[User]:
    """People who may hold a tag for this charger: the site's members and the owner of a personal charger."""
    users = list(session.scalars(select(User).join(Membership, Membership.user_id == User.id).where(
        Membership.site_id == cp.site_id, User.active.is_(True))))
    if cp.owner is not None and cp.owner.active and cp.owner not in users:
        users.append(cp.owner)
    return users


def tags_for(session: Session, cp: ChargePoint) -> list[str]:
    """The RFID tags that belong on this charger's list (sorted, so a cut at the maximum is stable)."""
    allowed = [u.id for u in holders(session, cp)
               if access.start_decision(session, u, cp, check_connector=False).reason in USABLE_REASONS]
    if not allowed:
        return []
    return sorted(session.scalars(select(IdTag.tag).where(
        IdTag.user_id.in_(allowed), IdTag.kind == "rfid", IdTag.blocked.is_(False))))


def state_of(session: Session, cp_id: int) -> LocalListState:
    row = session.get(LocalListState, cp_id)
    if row is None:
        row = LocalListState(charge_point_id=cp_id, version=0, tags=[], left_out=0, last_kind="", outcome="",
                             detail="")
        session.add(row)
        session.flush()
    return row


def _entry(tag: str) -> dict:
    return {"idTag": tag, "idTagInfo": {"status": "Accepted"}}


def _chunks(items: list[dict], size: int | None) -> list[list[dict]]:
    if not size or size <= 0 or len(items) <= size:
        return [items]
    return [items[i:i + size] for i in range(0, len(items), size)]


def plan(state: LocalListState, wanted: list[str], charger_version: int, *, full: bool = False) -> Plan:
    """What to send so the charger holds `wanted` (cut at its maximum length)."""
    cap = state.max_length if state.max_length and state.max_length > 0 else None
    kept = wanted[:cap] if cap else list(wanted)
    result = Plan(tags=kept, left_out=len(wanted) - len(kept))
    version = max(state.version, charger_version, 0)
    if full or state.version <= 0 or charger_version != state.version:
        chunks = _chunks([_entry(t) for t in kept], state.send_max)
        for n, chunk in enumerate(chunks):
            version += 1
            result.parts.append(Part(version, FULL if n == 0 else DIFFERENTIAL, chunk))
        return result
    before = set(state.tags or [])
    items = [_entry(t) for t in kept if t not in before] + [{"idTag": t} for t in sorted(before - set(kept))]
    if items:
        for chunk in _chunks(items, state.send_max):
            version += 1
            result.parts.append(Part(version, DIFFERENTIAL, chunk))
    return result


def accepted_part(state: LocalListState, part: Part, now: datetime | None = None) -> None:
    """The charger took one part: its list is now that version."""
    tags = [] if part.update_type == FULL else list(state.tags or [])
    for item in part.items:
        if "idTagInfo" in item:
            if item["idTag"] not in tags:
                tags.append(item["idTag"])
        elif item["idTag"] in tags:
            tags.remove(item["idTag"])
    state.version, state.tags, state.last_kind = part.version, sorted(tags), part.update_type
    state.outcome, state.detail, state.sent_at = "Accepted", "", now or utcnow()


def failed(state: LocalListState, outcome: str, detail: str = "", now: datetime | None = None) -> None:
    state.outcome, state.detail, state.sent_at = outcome[:20], detail[:200], now or utcnow()


def site_charger_ids(session: Session, site_id: int) -> list[int]:
    return list(session.scalars(select(ChargePoint.id).where(ChargePoint.site_id == site_id)))


def tag_site_ids(session: Session, tag: IdTag) -> list[int]:
    """The sites whose chargers' lists may hold this tag (its holder's sites and personal chargers)."""
    if tag.user_id is None:
        return []
    sites = set(access.member_site_ids(session, tag.user_id))
    sites.update(session.scalars(select(ChargePoint.site_id).where(ChargePoint.owner_id == tag.user_id)))
    return sorted(sites)
