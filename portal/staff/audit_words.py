"""The staff audit log in sentences, in the reader's language: one sentence per audit action, naming who did it
and linking the object it was about ("kari@op.no disabled the charger CP-1")."""
from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from portal.labels_ocpp import label
from portal.models import AuditEntry
from portal.services.staff import audit_log

# One sentence per action; %(who)s is the staff member, %(object)s the linked object, %(detail)s what changed.
SENTENCES = {
    "staff_role": _l("%(who)s set the staff role of %(object)s to %(detail)s."),
    "data_exported": _l("%(who)s downloaded the personal data of %(object)s."),
    "account_deleted": _l("%(who)s deleted the account %(object)s."),
    "reviewed": _l("%(who)s marked %(object)s as looked at."),
    "agreement": _l("%(who)s set the agreement of %(object)s to %(detail)s."),
    "after_close_reviewed": _l("%(who)s looked at the energy reported after %(object)s was closed."),
    "remote": _l("%(who)s asked %(object)s: %(detail)s."),
    "enabled": _l("%(who)s enabled %(object)s."),
    "disabled": _l("%(who)s disabled %(object)s."),
    "secret_confirmed_by_charger": _l("%(object)s confirmed its new secret by connecting with it."),
    "closed_by_support": _l("%(who)s ended %(object)s by hand."),
    "updated": _l("%(who)s changed %(object)s: %(detail)s."),
    "created_from_lead": _l("%(who)s created the cooperative %(object)s from a quote request."),
    "credit_note": _l("%(who)s corrected %(object)s with a credit note."),
    "reply": _l("%(who)s answered %(object)s by e-mail."),
    "internal_note": _l("%(who)s added an internal note to %(object)s."),
    "status": _l("%(who)s changed the status of %(object)s: %(detail)s."),
    "assign": _l("%(who)s assigned %(object)s to %(detail)s."),
}
# What each action is called in the 'what' filter.
ACTION_NAMES = {
    "staff_role": _l("Staff role changed"), "data_exported": _l("Personal data downloaded"),
    "account_deleted": _l("Account deleted"), "reviewed": _l("Marked as looked at"),
    "agreement": _l("Agreement changed"), "after_close_reviewed": _l("Energy after closing looked at"),
    "enabled": _l("Charger enabled"), "disabled": _l("Charger disabled"),
    "secret_confirmed_by_charger": _l("Charger secret confirmed"), "closed_by_support": _l("Session ended by hand"),
    "updated": _l("Quote request or order changed"), "created_from_lead": _l("Cooperative created"),
    "credit_note": _l("Credit note"), "reply": _l("Ticket answered"), "internal_note": _l("Internal note"),
    "status": _l("Ticket status changed"), "assign": _l("Ticket assigned"),
}
OTHER = _l("%(who)s: %(detail)s on %(object)s.")

KINDS = {
    "user": _l("account"), "charge_point": _l("charger"), "site": _l("cooperative"), "lead": _l("quote request"),
    "charger_order": _l("charger order"), "ticket": _l("ticket"), "transaction": _l("session"),
    "statement": _l("statement"), "orphan_stop": _l("unknown stop"), "meter_flag": _l("meter warning"),
}
LINKS = {
    "user": lambda obj: url_for("staff.person", user_id=obj.id),
    "charge_point": lambda obj: url_for("staff.charger", identity=obj.identity),
    "site": lambda obj: url_for("staff.sites"),
    "lead": lambda obj: url_for("staff.lead", lead_id=obj.id),
    "charger_order": lambda obj: url_for("staff.order", order_id=obj.id),
    "ticket": lambda obj: url_for("staff.ticket", ticket_id=obj.id),
}
ROLES = {"support": _l("Support"), "sales": _l("Sales"), "admin": _l("Operator admin")}


def action_key(action: str) -> str:
    return "remote" if action.startswith("remote:") else action


def action_label(action: str) -> str:
    """What an action is called in the 'what' filter."""
    if action.startswith("remote:"):
        return label(action.split(":", 1)[1], "action")
    return str(ACTION_NAMES.get(action, action))


def kind_label(kind: str) -> str:
    return str(KINDS.get(kind, kind))


def _object(entry: AuditEntry, found: dict) -> Markup:
    kind = kind_label(entry.entity)
    obj = found.get((entry.entity, entry.entity_id))
    if obj is None:
        return escape(f"{kind} #{entry.entity_id}" if entry.entity_id is not None else kind)
    text = f"{kind} {audit_log.name_of(entry.entity, obj)}"
    return Markup('<a href="{}">{}</a>').format(LINKS[entry.entity](obj), text)


def _value(value) -> str:
    if value is None or value == "":
        return "–"
    from portal.staff.sales_words import value_label  # statuses, kinds and languages of leads and orders

    return value_label(value)


def _detail(entry: AuditEntry) -> str:
    after, before = entry.after or {}, entry.before or {}
    if entry.action == "staff_role":
        return str(ROLES.get(after.get("staff_role"), _("no staff role")))
    if entry.action == "agreement":
        return _value(after.get("agreement_status"))
    if entry.action.startswith("remote:"):
        return label(entry.action.split(":", 1)[1], "action")
    if entry.action == "status":
        return f"{_value(after.get('from'))} → {_value(after.get('to'))}"
    if entry.action == "assign":
        return after.get("assignee") or _("nobody")
    if entry.action == "updated":
        return "; ".join(_change(k, before.get(k), after.get(k)) for k in after if before.get(k) != after.get(k))
    return entry.action


FIELDS = {"status": _l("status"), "assignee_id": _l("assignee"), "notes": _l("notes"),
          "next_step_on": _l("next step on")}


def _change(field: str, before, after) -> str:
    name = str(FIELDS.get(field, field))
    if field == "notes":
        return name
    return f"{name}: {_value(before)} → {_value(after)}"


def sentence(entry: AuditEntry, found: dict) -> Markup:
    """The entry as one sentence with its object linked (values in the reader's language)."""
    who = entry.actor.email if entry.actor else _("The system")
    template = SENTENCES.get(action_key(entry.action), OTHER)
    return escape(str(template)) % {"who": who, "object": _object(entry, found), "detail": _detail(entry)}
