"""The change log in sentences, in the reader's language: "Kari changed the price of Residents from
2,35 kr to 2,50 kr". Names are looked up for the page's entries in one go; a deleted thing keeps the
name the entry recorded."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import AuditEntry, ChargePoint, Invite, SubscriptionPlan, Tariff, TariffGroup, User, UserGroup
from portal.services.pricing import format_amount, format_money
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
        wanted: dict[str, set[int]] = {kind: set() for kind in MODELS}
        for e in entries:
            if e.entity in MODELS and e.entity_id is not None:
                wanted[e.entity].add(e.entity_id)
            if e.entity == "member" and e.entity_id is not None:
                wanted["user"].add(e.entity_id)
            for state in (e.before or {}, e.after or {}):
                wanted["tariff"].update(v for v in state.get("tariffs", []) if isinstance(v, int))
                for key, kind in (("tariff_group_id", "tariff_group"), ("user_id", "user"), ("owner_id", "user")):
                    if isinstance(state.get(key), int):
                        wanted[kind].add(state[key])
        self.names: dict[tuple[str, int], str] = {}
        for kind, ids in wanted.items():
            if not ids:
                continue
            model = MODELS[kind]
            for obj in session.scalars(select(model).where(model.id.in_(ids))):
                self.names[(kind, obj.id)] = _label(kind, obj)

    def get(self, kind: str, obj_id, fallback: str | None = None) -> str:
        return self.names.get((kind, obj_id)) or fallback or f"#{obj_id}"


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


def describe(e: AuditEntry, names: Names, currency: str = "NOK") -> list[str]:
    """One or more sentences for one entry."""
    who = e.actor.display_name if e.actor else _("Someone")
    before, after = e.before or {}, e.after or {}
    recorded = after.get("name") or before.get("name")
    name = names.get(e.entity if e.entity != "member" else "user", e.entity_id, recorded)
    kind = str(KIND_SINGULAR.get(e.entity, e.entity))
    action = e.action
    if action == "create":
        if e.entity == "invite":
            return [_("%(who)s invited %(email)s.", who=who, email=after.get("email", name))]
        return [_("%(who)s created the %(kind)s %(name)s.", who=who, kind=kind, name=name)]
    if action == "rename":
        return [_("%(who)s renamed the %(kind)s %(old)s to %(new)s.", who=who, kind=kind, old=before.get("name"),
                  new=after.get("name"))]
    if action == "delete":
        return [_("%(who)s deleted the %(kind)s %(name)s.", who=who, kind=kind, name=before.get("name", name))]
    if e.entity == "tariff" and action == "update":
        return _tariff_update(who, name, before, after)
    if e.entity == "tariff_group" and action in ("attach_tariff", "detach_tariff"):
        old, new = set(before.get("tariffs", [])), set(after.get("tariffs", []))
        changed = sorted((new - old) or (old - new))
        tariffs = ", ".join(names.get("tariff", t) for t in changed)
        if action == "attach_tariff":
            return [_("%(who)s added the tariff %(tariff)s to the tariff group %(group)s.", who=who, tariff=tariffs,
                      group=name)]
        return [_("%(who)s took the tariff %(tariff)s out of the tariff group %(group)s.", who=who, tariff=tariffs,
                  group=name)]
    if e.entity == "charge_point":
        return _charger(who, name, action, before, after, names)
    if e.entity == "plan":
        if action == "close":
            return [_("%(who)s closed the plan %(name)s to new subscribers.", who=who, name=name)]
        if action == "open":
            return [_("%(who)s opened the plan %(name)s to new subscribers.", who=who, name=name)]
        if action == "reprice":
            return [_("%(who)s set the monthly fee of %(name)s to %(fee)s from %(date)s.", who=who, name=name,
                      fee=format_money(after.get("next_fee_minor") or 0, currency, current_language()),
                      date=after.get("next_fee_from", ""))]
    if e.entity == "invite":
        email = names.get("invite", e.entity_id)
        text = {"resend": _("%(who)s sent the invite to %(email)s again.", who=who, email=email),
                "revoke": _("%(who)s revoked the invite to %(email)s.", who=who, email=email),
                "accept": _("%(who)s accepted the invite and got access.", who=who)}.get(action)
        if text:
            return [text]
    if e.entity == "member":
        person = before.get("email") or after.get("email") or name
        if action == "remove":
            return [_("%(who)s removed %(person)s from the site.", who=who, person=person)]
        if action == "role":
            if after.get("role") == "board":
                return [_("%(who)s made %(person)s a board member.", who=who, person=person)]
            return [_("%(who)s took the board rights from %(person)s.", who=who, person=person)]
    if e.entity == "user_group" and action in ("add_member", "remove_member"):
        person = names.get("user", (after or before).get("user_id"))
        if action == "add_member":
            return [_("%(who)s added %(person)s to the user group %(group)s.", who=who, person=person, group=name)]
        return [_("%(who)s took %(person)s out of the user group %(group)s.", who=who, person=person, group=name)]
    return [_("%(who)s changed %(kind)s %(name)s.", who=who, kind=kind, name=name)]


def _tariff_update(who: str, name: str, before: dict, after: dict) -> list[str]:
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


def _charger(who: str, name: str, action: str, before: dict, after: dict, names: Names) -> list[str]:
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
