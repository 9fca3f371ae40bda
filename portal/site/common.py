"""Access checks and helpers shared by the site pages."""
from __future__ import annotations

from typing import TypeVar

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from portal.extensions import db_session
from portal.models import Site
from portal.services.access import can_manage_site

T = TypeVar("T")

# RuleError codes from portal.services.site_admin in plain words.
RULE_MESSAGES = {
    "other_site": _l("That belongs to another site."),
    "owner_needs_personal": _l("Only a personal (home) charger has an owner. Choose the type Personal first."),
    "owner_unknown": _l("Nobody has an account with that e-mail address. Invite them first."),
    "owner_not_member": _l("That person has no access to this site yet: they must accept an invite first."),
    "invite_not_pending": _l("That invite is no longer pending."),
    "invite_expired": _l("That invite has expired. Ask the board to send it again."),
    "email_not_verified": _l("Confirm your e-mail address first."),
    "remove_self": _l("You cannot remove yourself."),
    "not_member": _l("That person has no access to this site."),
    "unknown_user": _l("Nobody has an account with that e-mail address."),
    "already_in_group": _l("That person is already in the group."),
    "not_in_group": _l("That person is not in the group."),
    "duplicate_name": _l("That name is already used on this site."),
    "name_required": _l("Write a name."),
    "bad_role": _l("Choose board member or resident."),
    "last_board": _l("The site must keep at least one board member. Make someone else a board member first."),
    "tariff_in_use": _l("This tariff cannot be deleted: chargers still get their price from a tariff group it "
                        "is attached to. Detach it from those groups first."),
    "group_in_use": _l("This tariff group cannot be deleted: chargers still use it. Give them another tariff "
                       "group first."),
    "plan_in_use": _l("This plan cannot be deleted: residents still hold it. Close it to new subscribers "
                      "instead; it can be deleted once nobody holds it."),
    "plan_limits_tariffs": _l("This plan cannot be deleted: a tariff is limited to its holders, and would then "
                              "apply to everybody. Change that tariff first."),
    "user_group_in_use": _l("This user group cannot be deleted: a tariff is still limited to it. Change that "
                            "tariff first."),
    "negative_fee": _l("The fee cannot be negative."),
}


def rule_message(code: str) -> str:
    return str(RULE_MESSAGES.get(code, _l("That change is not allowed.")))


def managed_site(slug: str) -> Site:
    """The site by slug, if the current user may manage it: 404 when unknown, 403 otherwise."""
    session = db_session()
    site = session.scalar(select(Site).where(Site.slug == slug))
    if site is None:
        abort(404)
    if not can_manage_site(session, current_user, site.id):
        abort(403)
    return site


def site_object(model: type[T], object_id: int, site: Site) -> T:
    """A row of `model` that belongs to `site`; anything else is 404 (never another site's data)."""
    obj = db_session().get(model, object_id)
    if obj is None or getattr(obj, "site_id", None) != site.id:
        abort(404)
    return obj
