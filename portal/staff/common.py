"""Role checks and helpers shared by the staff console's pages."""
from __future__ import annotations

import functools
from typing import Callable

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.extensions import db_session
from portal.models import ChargePoint, Site
from portal.services.staff.roles import allowed

# Refusal codes of the staff services in plain words.
REFUSALS = {
    "reason_required": _l("Write why you do this: it goes in the audit log."),
    "bad_connector": _l("Choose one of the charger's outlets."),
    "unknown_resident": _l("Nobody has an account with that e-mail address."),
    "unknown_tag": _l("No RFID tag with that number is registered."),
    "blocked_tag": _l("That RFID tag is blocked."),
    "not_active": _l("That session is no longer running."),
    "bad_choice": _l("Choose one of the options."),
    "bad_config": _l("Enter a configuration key (at most 50 characters) and a value (at most 500)."),
    "bad_secret": _l("The new secret must be 16 to 40 characters long, with at least 10 different characters "
                     "from three of: lower case, upper case, digits, other characters, and no common pattern. "
                     "Or let the portal make one."),
    "still_pending": _l("The request is still under way; wait for its answer first."),
    "secret_retry": _l("A new secret is never sent twice: change the AuthorizationKey again with a new secret."),
    "invalid_payload": _l("The charger would not understand that request."),
    "staff_only": _l("Only support staff may do that."),
    "resident_reason_required": _l("Choose what the resident is told."),
    "ask_charger_first": _l("Ask the charger to stop the session first. Closing by hand is for a charger that "
                            "is offline or did not stop the session when asked."),
    "override_required": _l("The charger reported this session a few minutes ago and may still be charging. "
                            "Tick the box and write why you close it by hand anyway."),
    "not_reported": _l("The charger no longer reports that session."),
    "offline": _l("The charger is offline: it cannot be asked now."),
    "not_owner": _l("That is not your session."),
}


def refusal(code: str) -> str:
    return str(REFUSALS.get(code, _l("That is not possible right now.")))


def staff_area(area: str) -> Callable:
    """Log-in required, then the user's staff role must cover `area` (roles.AREAS), else 403."""
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not allowed(current_user, area):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorate


def charger_or_404(identity: str) -> ChargePoint:
    cp = db_session().scalar(select(ChargePoint).where(ChargePoint.identity == identity))
    if cp is None:
        abort(404)
    return cp


def all_sites() -> list[Site]:
    return list(db_session().scalars(select(Site).order_by(Site.name)))


def site_by_slug(slug: str | None) -> Site | None:
    if not slug:
        return None
    return db_session().scalar(select(Site).where(Site.slug == slug))
