"""Support's view of chargers: search, recent sessions and requests, and the filtered OCPP message log.

The log comes a page of LOG_PAGE rows at a time; what each frame says is read by message_facts.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from portal.models import ActionRequest, ChargePoint, OcppMessage, Site, Transaction, User

SEARCH_LIMIT = 50
LOG_PAGE = 50
DIRECTIONS = ("in", "out")


def search(session: Session, text: str, site_id: int | None = None) -> list[ChargePoint]:
    """Chargers whose identity or name, site name or slug, or owner's e-mail contains the text."""
    query = select(ChargePoint).join(Site, Site.id == ChargePoint.site_id).outerjoin(
        User, User.id == ChargePoint.owner_id).options(selectinload(ChargePoint.site),
                                                      selectinload(ChargePoint.connectors))
    text = (text or "").strip().lower()
    if text:
        like = f"%{text.replace('%', '').replace('_', '')}%"
        query = query.where(or_(func.lower(ChargePoint.identity).like(like), func.lower(ChargePoint.name).like(like),
                                func.lower(Site.name).like(like), func.lower(Site.slug).like(like),
                                func.lower(User.email).like(like)))
    if site_id is not None:
        query = query.where(ChargePoint.site_id == site_id)
    return list(session.scalars(query.order_by(ChargePoint.identity).limit(SEARCH_LIMIT)))


def by_identity(session: Session, identity: str) -> ChargePoint | None:
    return session.scalar(select(ChargePoint).where(ChargePoint.identity == identity))


def recent_transactions(session: Session, cp: ChargePoint, limit: int = 20) -> list[Transaction]:
    return list(session.scalars(select(Transaction).where(Transaction.charge_point_id == cp.id)
                                .order_by(Transaction.started_at.desc()).limit(limit)))


def active_sessions(session: Session, cp: ChargePoint) -> dict[int, Transaction]:
    """The charger's running sessions by outlet (the live block shows their energy so far)."""
    rows = session.scalars(select(Transaction).where(Transaction.charge_point_id == cp.id,
                                                     Transaction.status == "active").order_by(Transaction.id))
    return {tx.connector_id: tx for tx in rows}


def action_history(session: Session, cp: ChargePoint, limit: int = 30) -> list[ActionRequest]:
    return list(session.scalars(select(ActionRequest).where(ActionRequest.charge_point_id == cp.id)
                                .options(selectinload(ActionRequest.requested_by))
                                .order_by(ActionRequest.id.desc()).limit(limit)))


@dataclass(frozen=True)
class LogFilter:
    action: str = ""
    direction: str = ""
    errors_only: bool = False
    since: datetime | None = None
    until: datetime | None = None


ERROR_MARKERS = ('"Rejected"', '"Invalid"', '"Blocked"', '"Expired"', '"Faulted"', '"NotSupported"',
                 '"Unknown"', '"UnlockFailed"')


@dataclass(frozen=True)
class LogPage:
    messages: list[OcppMessage]
    page: int
    has_older: bool


def message_log(session: Session, identity: str, flt: LogFilter, page: int = 1, size: int = LOG_PAGE) -> LogPage:
    """One page of the charger's logged frames, newest first, filtered (page 1 is the newest)."""
    page = max(page, 1)
    query = select(OcppMessage).where(OcppMessage.identity == identity)
    if flt.direction in DIRECTIONS:
        query = query.where(OcppMessage.direction == flt.direction)
    if flt.action:
        # A reply carries no action name: include the replies to the matching calls.
        calls = select(OcppMessage.unique_id).where(OcppMessage.identity == identity,
                                                    OcppMessage.action == flt.action)
        query = query.where(or_(OcppMessage.action == flt.action,
                                (OcppMessage.message_type != 2) & OcppMessage.unique_id.in_(calls)))
    if flt.errors_only:
        query = query.where(or_(
            OcppMessage.message_type == 4,
            OcppMessage.frame.like('%"errorCode"%') & ~OcppMessage.frame.like('%"NoError"%'),
            *[OcppMessage.frame.like(f"%{m}%") for m in ERROR_MARKERS]))
    if flt.since is not None:
        query = query.where(OcppMessage.created_at >= flt.since)
    if flt.until is not None:
        query = query.where(OcppMessage.created_at <= flt.until)
    rows = list(session.scalars(query.order_by(OcppMessage.created_at.desc(), OcppMessage.id.desc())
                                .offset((page - 1) * size).limit(size + 1)))
    return LogPage(rows[:size], page, len(rows) > size)


def logged_actions(session: Session, identity: str) -> list[str]:
    """The action names seen in the charger's log, for the filter's choices."""
    return sorted(a for a in session.scalars(select(OcppMessage.action).where(
        OcppMessage.identity == identity, OcppMessage.action.is_not(None)).distinct()) if a)


def call_actions(session: Session, identity: str, messages: list[OcppMessage]) -> dict[str, str]:
    """unique id -> action of the call each listed reply answers (the call may be outside the filter)."""
    ids = {m.unique_id for m in messages if m.message_type in (3, 4) and m.unique_id}
    if not ids:
        return {}
    rows = session.execute(select(OcppMessage.unique_id, OcppMessage.action).where(
        OcppMessage.identity == identity, OcppMessage.message_type == 2, OcppMessage.unique_id.in_(ids)))
    return {uid: action for uid, action in rows if action}
