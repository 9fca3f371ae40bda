"""A resident's own RFID tags: register, name, block and unblock."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import IdTag, User

TAG_MAX = 20  # OCPP 1.6 idToken (CiString20)
NAME_MAX = 60


class TagError(ValueError):
    """A tag change that is not allowed; `.code` names the rule."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def normalise(tag: str) -> str:
    """The tag as a charger sends it: trimmed, no spaces inside (readers print UIDs in groups)."""
    return "".join(tag.split())


def valid_format(tag: str) -> bool:
    """1 to 20 printable ASCII characters."""
    return 1 <= len(tag) <= TAG_MAX and all(33 <= ord(c) <= 126 for c in tag)


def user_tags(session: Session, user: User) -> list[IdTag]:
    """The user's RFID tags (the app's virtual tag is not shown)."""
    return list(session.scalars(
        select(IdTag).where(IdTag.user_id == user.id, IdTag.kind == "rfid").order_by(IdTag.created_at, IdTag.id)))


def own_tag(session: Session, user: User, tag_id: int) -> IdTag | None:
    tag = session.get(IdTag, tag_id)
    return tag if tag is not None and tag.user_id == user.id and tag.kind == "rfid" else None


def register(session: Session, user: User, tag_value: str, name: str = "") -> IdTag:
    """Register an RFID tag to the user; the same tag cannot belong to two accounts."""
    value = normalise(tag_value)
    if not valid_format(value):
        raise TagError("format")
    if session.scalar(select(IdTag.id).where(IdTag.tag == value)) is not None:
        raise TagError("taken")
    tag = IdTag(tag=value, user_id=user.id, kind="rfid", name=name.strip()[:NAME_MAX])
    session.add(tag)
    session.flush()
    return tag


def rename(session: Session, tag: IdTag, name: str) -> None:
    tag.name = name.strip()[:NAME_MAX]
    session.flush()


def set_blocked(session: Session, tag: IdTag, blocked: bool, reason: str | None = None) -> None:
    """A blocked tag is refused at every charger (lost card). `reason` is support's plain reason
    (plain_reasons.TAG_BLOCKED) shown to the owner; the owner's own block or unblock carries none."""
    tag.blocked = blocked
    tag.blocked_reason = reason if blocked else None
    session.flush()
