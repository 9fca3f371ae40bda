"""The technician's side of a work order, through its private link: confirm the time, report arrival,
the outcome and the parts used, attach photos (re-encoded like ticket photos). Flask-free; flush only.
"""
from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import WorkOrder, WorkOrderPhoto
from portal.services.helpdesk.photos import Encoded
from portal.services.helpdesk.tokens import hash_token
from portal.services.workorders import orders
from portal.services.workorders.states import OPEN, next_status

MAX_PHOTOS = 20
TEXT_MAX = 5000


def by_token(session: Session, token: str) -> WorkOrder | None:
    """The open work order of a private link, or None (wrong, replaced or closed link)."""
    if not token or len(token) > 100:
        return None
    order = session.scalar(select(WorkOrder).where(WorkOrder.access_token_hash == hash_token(token)))
    return order if order is not None and order.status in OPEN else None


def confirm(session: Session, order: WorkOrder, when: datetime) -> None:
    order.status = next_status(order.status, "confirm")
    order.scheduled_for = when
    session.flush()


def arrive(session: Session, order: WorkOrder, now: datetime | None = None) -> None:
    order.status = next_status(order.status, "arrive")
    order.arrived_at = now or utcnow()
    session.flush()


def report(session: Session, order: WorkOrder, outcome: str, parts_used: str) -> bool:
    """Store the outcome and parts used; True when the order could close at once (charger works again)."""
    order.status = next_status(order.status, "report")
    order.outcome = outcome.strip()[:TEXT_MAX]
    order.parts_used = parts_used.strip()[:TEXT_MAX]
    session.flush()
    return orders.try_close_after_report(session, order)


def photo_path(upload_dir: str | Path, storage_key: str) -> Path:
    if not storage_key or "/" in storage_key or "\\" in storage_key or storage_key.startswith("."):
        raise ValueError("bad storage key")
    return Path(upload_dir) / "workorders" / storage_key


def store_photo(session: Session, order: WorkOrder, encoded: Encoded, upload_dir: str | Path) -> WorkOrderPhoto:
    """Write the re-encoded file under a random name and record it (flush only)."""
    if len(order.photos) >= MAX_PHOTOS:
        raise ValueError("too_many")
    key = secrets.token_hex(16) + encoded.extension
    path = photo_path(upload_dir, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encoded.data)
    photo = WorkOrderPhoto(work_order_id=order.id, storage_key=key, content_type=encoded.content_type,
                           width=encoded.width, height=encoded.height, size_bytes=len(encoded.data))
    session.add(photo)
    session.flush()
    session.refresh(order)
    return photo
