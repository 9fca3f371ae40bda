"""The change log in sentences, in the reader's language: "Kari changed the price of Residents from
2,35 kr to 2,50 kr". Names are looked up for the page's entries in one go; a deleted thing keeps the
name the entry recorded."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Callable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, ChargePoint, Invite, SubscriptionPlan, Tariff, TariffGroup, User, UserGroup
from portal.services.billing.pricing import format_amount, format_money
from portal.web import current_language

MODELS = {"tariff": Tariff, "tariff_group": TariffGroup, "plan": SubscriptionPlan, "user_group": UserGroup,
          "charge_point": ChargePoint, "invite": Invite, "user": User}
KINDS = {"tariff": _l("tariffs"), "tariff_group": _l("tariff groups"), "plan": _l("subscription plans"),
         "user_group": _l("user groups"), "charge_point": _l("chargers"), "invite": _l("invites"),
         "member": _l("people with access")}
KIND_SINGULAR = {"tariff": _l("tariff"), "tariff_group": _l("tariff group"), "plan": _l("subscription plan"),
                 "user_group": _l("user group")}
FIELD_LABELS = {"name": _l("name"), "description": _l("description"), "pricing_type": _l("pricing"),
                "energy_fee": _l("price"), "min_price_minor": _l("minimum price"),
                "preauth_minor": _l("pre-authorisation"), "spot_markup": _l("spot markup"),
                "spot_markup_percent": _l("spot markup in percent"), "spot_fallback": _l("fallback price"),
                "restrictions": _l("who it is for"), "user_groups": _l("who it is for"), "enabled": _l("status"),
                "cp_type": _l("type"), "tariff_group_id": _l("tariff group"), "owner_id": _l("owner")}


class Names:
    """Names of everything the entries on one page mention, looked up once."""

    def __init__(self, session: Session, entries: list[AuditEntry]) -> None:
        self.names: dict[tuple[str, int], str] = {}
        for kind, ids in _mentioned(entries).items():
            if not ids:
                continue
            model = MODELS[kind]
            for obj in session.scalars(select(model).where(model.id.in_(ids))):
                self.names[(kind, obj.id)] = _label(kind, obj)

    def get(self, kind: str, obj_id, fallback: str | None = None) -> str:
        return self.names.get((kind, obj_id)) or fallback or f"#{obj_id}"


_STATE_REFERENCES = (("tariff_group_id", "tariff_group"), ("user_id", "user"), ("owner_id", "user"))


def _mentioned(entries: list[AuditEntry]) -> dict[str, set[int]]:
    """The ids, by kind, that the entries name: their subject and what their before/after states point at."""
    wanted: dict[str, set[int]] = {kind: set() for kind in MODELS}
    for e in entries:
        if e.entity_id is not None and (e.entity in MODELS or e.entity == "member"):
            wanted["user" if e.entity == "member" else e.entity].add(e.entity_id)
        for state in (e.before or {}, e.after or {}):
            wanted["tariff"].update(v for v in state.get("tariffs", []) if isinstance(v, int))
            for key, kind in _STATE_REFERENCES:
                if isinstance(state.get(key), int):
                    wanted[kind].add(state[key])
    return wanted


def _label(kind: str, obj) -> str:
    if kind == "user":
        return obj.display_name
    if kind == "invite":
        return obj.email
    if kind == "charge_point":
        return obj.display_name
    return obj.name


def _fee(value) -> str:
    try:
        return format_amount(Decimal(str(value)), current_language()) + " kr"
    except (InvalidOperation, TypeError):
        return str(value)


@dataclass(frozen=True)
class _Entry:
    """What a sentence about one entry needs."""

    entity: str
    action: str
    who: str
    name: str
    kind: str
    before: dict
    after: dict
    entity_id: int | None
    names: Names
    currency: str


def describe(e: AuditEntry, names: Names, currency: str = "NOK") -> list[str]:
    """One or more sentences for one entry: the first rule of SENTENCES that matches (action for any
    thing, then this thing's action, then any action on this thing) and says something."""
    before, after = e.before or {}, e.after or {}
    recorded = after.get("name") or before.get("name")
    entry = _Entry(entity=e.entity, action=e.action, who=e.actor.display_name if e.actor else _("Someone"),
                   name=names.get(e.entity if e.entity != "member" else "user", e.entity_id, recorded),
                   kind=str(KIND_SINGULAR.get(e.entity, e.entity)), before=before, after=after,
                   entity_id=e.entity_id, names=names, currency=currency)
    for key in ((None, e.action), (e.entity, e.action), (e.entity, None)):
        rule = SENTENCES.get(key)
        if rule is not None:
            sentences = rule(entry)
            if sentences:
                return sentences
    return [_("%(who)s changed %(kind)s %(name)s.", who=entry.who, kind=entry.kind, name=entry.name)]


def _created(e: _Entry) -> list[str]:
    if e.entity == "invite":
        return [_("%(who)s invited %(email)s.", who=e.who, email=e.after.get("email", e.name))]
    return [_("%(who)s created the %(kind)s %(name)s.", who=e.who, kind=e.kind, name=e.name)]


def _renamed(e: _Entry) -> list[str]:
    return [_("%(who)s renamed the %(kind)s %(old)s to %(new)s.", who=e.who, kind=e.kind, old=e.before.get("name"),
              new=e.after.get("name"))]


def _deleted(e: _Entry) -> list[str]:
    return [_("%(who)s deleted the %(kind)s %(name)s.", who=e.who, kind=e.kind, name=e.before.get("name", e.name))]


def _changed_tariffs(e: _Entry) -> str:
    """The tariffs attached to or detached from a group, by name."""
    old, new = set(e.before.get("tariffs", [])), set(e.after.get("tariffs", []))
    return ", ".join(e.names.get("tariff", t) for t in sorted((new - old) or (old - new)))


def _tariff_attached(e: _Entry) -> list[str]:
    return [_("%(who)s added the tariff %(tariff)s to the tariff group %(group)s.", who=e.who,
              tariff=_changed_tariffs(e), group=e.name)]


def _tariff_detached(e: _Entry) -> list[str]:
    return [_("%(who)s took the tariff %(tariff)s out of the tariff group %(group)s.", who=e.who,
              tariff=_changed_tariffs(e), group=e.name)]


def _plan_repriced(e: _Entry) -> list[str]:
    return [_("%(who)s set the monthly fee of %(name)s to %(fee)s from %(date)s.", who=e.who, name=e.name,
              fee=format_money(e.after.get("next_fee_minor") or 0, e.currency, current_language()),
              date=e.after.get("next_fee_from", ""))]


def _invite_email(e: _Entry) -> str:
    return e.names.get("invite", e.entity_id)


def _person(e: _Entry) -> str:
    """The member an access change is about."""
    return e.before.get("email") or e.after.get("email") or e.name


def _role_changed(e: _Entry) -> list[str]:
    if e.after.get("role") == "board":
        return [_("%(who)s made %(person)s a board member.", who=e.who, person=_person(e))]
    return [_("%(who)s took the board rights from %(person)s.", who=e.who, person=_person(e))]


def _group_person(e: _Entry) -> str:
    return e.names.get("user", (e.after or e.before).get("user_id"))


def _tariff_update(e: _Entry) -> list[str]:
    who, name, before, after = e.who, e.name, e.before, e.after
    out = []
    if before.get("energy_fee") != after.get("energy_fee"):
        out.append(_("%(who)s changed the price of %(name)s from %(old)s to %(new)s.", who=who, name=name,
                     old=_fee(before.get("energy_fee")), new=_fee(after.get("energy_fee"))))
    if before.get("name") != after.get("name"):
        out.append(_("%(who)s renamed the %(kind)s %(old)s to %(new)s.", who=who, kind=_("tariff"),
                     old=before.get("name"), new=after.get("name")))
    others = [str(FIELD_LABELS.get(k, k)) for k in sorted(set(before) | set(after))
              if k not in ("energy_fee", "name") and before.get(k) != after.get(k)]
    if others:
        out.append(_("%(who)s changed %(fields)s of the tariff %(name)s.", who=who,
                     fields=", ".join(dict.fromkeys(others)), name=name))
    return out or [_("%(who)s saved the tariff %(name)s without changes.", who=who, name=name)]


def _charger(e: _Entry) -> list[str]:
    who, name, action, before, after, names = e.who, e.name, e.action, e.before, e.after, e.names
    if action == "tariff_group" or (before.get("tariff_group_id") != after.get("tariff_group_id")
                                    and "tariff_group_id" in after):
        group = after.get("tariff_group_id")
        out = [_("%(who)s gave the charger %(name)s the tariff group %(group)s.", who=who, name=name,
                 group=names.get("tariff_group", group)) if group else
               _("%(who)s took the tariff group away from the charger %(name)s.", who=who, name=name)]
    else:
        out = []
    if before.get("enabled") != after.get("enabled") and "enabled" in after:
        out.append(_("%(who)s enabled the charger %(name)s.", who=who, name=name) if after["enabled"]
                   else _("%(who)s disabled the charger %(name)s.", who=who, name=name))
    others = [str(FIELD_LABELS.get(k, k)) for k in sorted(after) if k not in ("enabled", "tariff_group_id")
              and before.get(k) != after.get(k)]
    if others:
        out.append(_("%(who)s changed %(fields)s of the charger %(name)s.", who=who, fields=", ".join(others),
                     name=name))
    return out or [_("%(who)s changed the charger %(name)s.", who=who, name=name)]


# (thing, action) -> the sentences; None matches any. describe() tries (None, action), (thing, action),
# (thing, None) in that order; a rule that returns nothing falls through to "X changed Y".
SENTENCES: dict[tuple[str | None, str | None], Callable[[_Entry], list[str]]] = {
    (None, "create"): _created,
    (None, "rename"): _renamed,
    (None, "delete"): _deleted,
    ("tariff", "update"): _tariff_update,
    ("tariff_group", "attach_tariff"): _tariff_attached,
    ("tariff_group", "detach_tariff"): _tariff_detached,
    ("charge_point", None): _charger,
    ("plan", "close"): lambda e: [_("%(who)s closed the plan %(name)s to new subscribers.", who=e.who, name=e.name)],
    ("plan", "open"): lambda e: [_("%(who)s opened the plan %(name)s to new subscribers.", who=e.who, name=e.name)],
    ("plan", "reprice"): _plan_repriced,
    ("invite", "resend"): lambda e: [_("%(who)s sent the invite to %(email)s again.", who=e.who,
                                       email=_invite_email(e))],
    ("invite", "revoke"): lambda e: [_("%(who)s revoked the invite to %(email)s.", who=e.who, email=_invite_email(e))],
    ("invite", "accept"): lambda e: [_("%(who)s accepted the invite and got access.", who=e.who)],
    ("member", "remove"): lambda e: [_("%(who)s removed %(person)s from the site.", who=e.who, person=_person(e))],
    ("member", "role"): _role_changed,
    ("user_group", "add_member"): lambda e: [_("%(who)s added %(person)s to the user group %(group)s.", who=e.who,
                                               person=_group_person(e), group=e.name)],
    ("user_group", "remove_member"): lambda e: [_("%(who)s took %(person)s out of the user group %(group)s.",
                                                  who=e.who, person=_group_person(e), group=e.name)],
}
