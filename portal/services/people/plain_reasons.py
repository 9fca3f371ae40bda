"""What a resident is told about a staff decision: one plain reason per code, read in the resident's language.

Staff choose a code; the resident's pages and e-mails show its text, translated when shown. Whatever staff type
themselves stays internal (the audit log, a ticket's internal notes, a session's close note). Flask-free: the
texts are msgids, marked for the catalogues here and translated by the pages (the `plain_reason` filter).

Where staff decisions reach a resident, and how:
- a session closed by hand: `session_closed` (portal.services.charging.after_close.RESIDENT_REASONS);
- an RFID tag blocked by support: `tag_blocked` (id_tags.blocked_reason), on the resident's tag page;
- a credit note: `credit_note` (statements.resident_reason), on the document and in its e-mail;
- a ticket's status and a support call: the status in plain words and a fixed line; staff's reason for a
  status change and the notes of a call are internal (portal.services.helpdesk.calls);
- a charger order's status: the status in plain words (order_status e-mail and page); sales' notes and reasons
  are internal;
- a remote stop, a disabled charger, removed access: the resident sees the outcome (stopped session, the
  start screen's plain refusal), never the reason typed for the audit log.
Nothing else a staff member types reaches a resident, except the replies support writes to them on a ticket.
"""
from __future__ import annotations

from portal.services.charging.after_close import GENERIC_REASON, RESIDENT_REASONS


def _l(text: str) -> str:
    """Marks a text for the translation catalogues; pages translate it when shown."""
    return text


TAG_BLOCKED = {
    "lost": _l("You told us the tag was lost."),
    "stolen": _l("You told us the tag was stolen."),
    "replaced": _l("The tag was replaced by a new one."),
    "your_request": _l("Blocked at your request."),
}
CREDIT_NOTE = {
    "meter_error": _l("The charger measured the energy wrongly."),
    "wrong_price": _l("The wrong price was used."),
    "billed_twice": _l("The same charging or fee was billed twice."),
    "charger_fault": _l("A fault on the charger or on our side affected the charging."),
    "subscription": _l("Your subscription was changed or ended."),
    "goodwill": _l("A goodwill gesture from us."),
}
CATALOGUES = {"session_closed": RESIDENT_REASONS, "tag_blocked": TAG_BLOCKED, "credit_note": CREDIT_NOTE}
# For rows written before a code was kept (or a code no longer offered): a plain line, never the staff's words.
GENERIC = {"session_closed": GENERIC_REASON, "tag_blocked": _l("Blocked by our support team."),
           "credit_note": _l("A correction of the statement it refers to.")}


def valid(kind: str, code: str | None) -> bool:
    return bool(code) and code in CATALOGUES[kind]


def text(kind: str, code: str | None) -> str:
    """The msgid the resident reads for `code` (translate it with gettext when shown)."""
    return CATALOGUES[kind].get(code or "", GENERIC[kind])
