"""What support may do from a person's page: block or unblock their RFID tag, send their invite again, start
or stop charging for them. Each is checked (support staff; the object is the person's) and audited in the
staff log with its reason. Flushes, never commits; the view commits, then hands mail or a charger job on.

A start for someone goes the resident's own way (starting.start_charging: their access, their price, one
request per outlet), so support sees the same refusal the person would. The plain reason of a block is what
the person reads on their tag page; support's own words stay in the audit log.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from portal.models import ActionRequest, ChargePoint, IdTag, Invite, Transaction, User
from portal.services.charging import actions, starting
from portal.services.people import plain_reasons, tags
from portal.services.sites import audit, site_people
from portal.services.sites.site_admin import RuleError
from portal.services.staff import remote
from portal.services.staff.roles import require


class PersonRefused(Exception):
    """The action is not possible; `code` is a refusals.PERSON code, or a start refusal (refusals.START)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _their_tag(session: Session, person: User, tag_id: int) -> IdTag:
    tag = tags.own_tag(session, person, tag_id)
    if tag is None:
        raise PersonRefused("not_theirs")
    return tag


def block_tag(session: Session, staff: User, person: User, tag_id: int, reason: str, note: str = "") -> IdTag:
    """Block the person's tag (a lost card) with a plain reason they read; `note` stays in the audit log."""
    require(staff, "support")
    tag = _their_tag(session, person, tag_id)
    if not plain_reasons.valid("tag_blocked", reason):
        raise PersonRefused("reason_choice")
    if tag.blocked:
        raise PersonRefused("already_blocked")
    tags.set_blocked(session, tag, True, reason)
    audit.record(session, staff, None, "id_tag", tag.id, "blocked", before={"blocked": False},
                 after={"blocked": True, "user_id": person.id, "tag": tag.tag, "resident_reason": reason},
                 area="staff", reason=(note or "").strip()[:500] or reason)
    return tag


def unblock_tag(session: Session, staff: User, person: User, tag_id: int, reason: str) -> IdTag:
    require(staff, "support")
    tag = _their_tag(session, person, tag_id)
    if not (reason or "").strip():
        raise PersonRefused("reason_required")
    if not tag.blocked:
        raise PersonRefused("not_blocked")
    before = {"blocked": True, "resident_reason": tag.blocked_reason}
    tags.set_blocked(session, tag, False)
    audit.record(session, staff, None, "id_tag", tag.id, "unblocked", before=before,
                 after={"blocked": False, "user_id": person.id, "tag": tag.tag}, area="staff", reason=reason.strip())
    return tag


def resend_invite(session: Session, staff: User, person: User, invite: Invite, reason: str = "") -> str:
    """A fresh link for a pending invite to the person's address; returns the token for the e-mail."""
    require(staff, "support")
    if invite is None or invite.email.strip().lower() != person.email.strip().lower():
        raise PersonRefused("not_theirs")
    try:
        token = site_people.resend_invite(session, staff, invite)
    except RuleError as exc:
        raise PersonRefused(exc.code) from exc
    audit.record(session, staff, invite.site_id, "invite", invite.id, "resend",
                 after={"user_id": person.id, "send_count": invite.send_count}, area="staff",
                 reason=(reason or "").strip()[:500] or "resent from the person's page")
    return token


def start_for(session: Session, staff: User, person: User, cp: ChargePoint, connector_id: int | None,
              reason: str) -> ActionRequest:
    """A start for the person, decided as their own tap; raises PersonRefused with the start refusal."""
    require(staff, "support")
    reason = (reason or "").strip()
    if not reason:
        raise PersonRefused("reason_required")
    try:
        row = session.get(ActionRequest, starting.start_charging(session, person, cp, connector_id))
    except actions.ActionRefused as exc:
        raise PersonRefused(exc.reason) from exc
    row.reason = reason
    audit.record(session, staff, cp.site_id, "charge_point", cp.id, f"remote:{actions.START}",
                 after={"identity": cp.identity, "action_request": row.id, "connector": connector_id,
                        "for_user": person.id}, area="staff", reason=reason)
    session.flush()
    return row


def stop_for(session: Session, staff: User, person: User, tx: Transaction | None, reason: str) -> ActionRequest:
    """Stop the person's running session (the staff remote stop, audited there)."""
    require(staff, "support")
    if tx is None or tx.user_id != person.id:
        raise PersonRefused("not_theirs")
    try:
        return remote.stop(session, staff, tx, reason)
    except remote.RemoteRefused as exc:
        raise PersonRefused(exc.code) from exc
