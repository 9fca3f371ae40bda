"""Support's view of chargers: search, recent sessions and requests, and the filtered OCPP message log.

`explain(...)` reads a logged frame and names the common statuses and errors in it as codes such as
"status:SuspendedEV" or "result:RemoteStartTransaction:Rejected"; the page turns codes into plain words.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from portal.models import ActionRequest, ChargePoint, OcppMessage, Site, Transaction, User

SEARCH_LIMIT = 50
LOG_LIMIT = 200
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


def message_log(session: Session, identity: str, flt: LogFilter, limit: int = LOG_LIMIT) -> list[OcppMessage]:
    """The charger's logged frames, newest first, filtered."""
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
    return list(session.scalars(query.order_by(OcppMessage.created_at.desc(), OcppMessage.id.desc()).limit(limit)))


def logged_actions(session: Session, identity: str) -> list[str]:
    """The action names seen in the charger's log, for the filter's choices."""
    return sorted(a for a in session.scalars(select(OcppMessage.action).where(
        OcppMessage.identity == identity, OcppMessage.action.is_not(None)).distinct()) if a)


def _payload(frame: str) -> tuple[int | None, dict]:
    try:
        data = json.loads(frame)
    except (ValueError, TypeError):
        return None, {}
    if not isinstance(data, list) or not data:
        return None, {}
    kind = data[0] if isinstance(data[0], int) else None
    payload = data[3] if kind == 2 and len(data) > 3 else data[2] if kind == 3 and len(data) > 2 else {}
    if kind == 4 and len(data) > 2:
        return kind, {"errorCode": data[2]}
    return kind, payload if isinstance(payload, dict) else {}


def explain(message: OcppMessage, call_actions: dict[str, str]) -> list[str]:
    """Codes for the statuses and errors in one frame (call_actions: unique id -> action of its call)."""
    kind, payload = _payload(message.frame)
    codes: list[str] = []
    if kind == 4:
        return [f"callerror:{payload.get('errorCode')}"]
    if kind == 2 and message.action == "StatusNotification":
        codes.append(f"status:{payload.get('status')}")
        if payload.get("errorCode") not in (None, "NoError"):
            codes.append(f"error:{payload.get('errorCode')}")
    if kind == 3:
        action = call_actions.get(message.unique_id or "", "")
        tag = (payload.get("idTagInfo") or {}).get("status") if isinstance(payload.get("idTagInfo"), dict) else None
        if tag and tag != "Accepted":
            codes.append(f"idtag:{tag}")
        if isinstance(payload.get("status"), str) and action:
            codes.append(f"result:{action}:{payload['status']}")
    return codes


def call_actions(session: Session, identity: str, messages: list[OcppMessage]) -> dict[str, str]:
    """unique id -> action of the call each listed reply answers (the call may be outside the filter)."""
    ids = {m.unique_id for m in messages if m.message_type in (3, 4) and m.unique_id}
    if not ids:
        return {}
    rows = session.execute(select(OcppMessage.unique_id, OcppMessage.action).where(
        OcppMessage.identity == identity, OcppMessage.message_type == 2, OcppMessage.unique_id.in_(ids)))
    return {uid: action for uid, action in rows if action}
