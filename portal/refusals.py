"""Every refusal code the web layer shows, with its words: one catalogue, translated by gettext (nb, sv, en).

A service says no with a code (``exc.code`` or ``exc.reason``); a view turns it into words here and nowhere
else. Codes are grouped by who says no, since the same code may read differently for a resident and for
staff ("unknown_tag": the resident has no tag yet; staff typed a tag nobody registered):

- START: access.REASONS and the actions service's refusals, as the resident's start screen shows them,
  with what the resident can do about it;
- STAFF: the staff services (remote calls, closing sessions by hand, staff actions);
- SITE_RULES: site_admin.RuleError, for the board's pages;
- PERSON: support acting from a person's page (falls back to STAFF);
- PIPELINE, TICKETS, TAGS, FAQ, PHOTOS, PRIVACY: the sales pipeline, support tickets, RFID tags, FAQ articles,
  uploaded photos and data-rights requests (export, deletion).
"""
from __future__ import annotations

from typing import NamedTuple

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l


class Refusal(NamedTuple):
    """What is wrong, and (for residents) what to do about it."""

    message: LazyString
    hint: LazyString | None = None


START = {
    "no_access": Refusal(_l("You have no access to this charger."),
                         _l("If you live here, ask the board of your housing cooperative to invite you.")),
    "personal_not_owner": Refusal(_l("This is a personal charger: only its owner can charge here."),
                                  _l("Use one of the shared chargers, or ask the board about your own.")),
    "disabled": Refusal(_l("This charger has been switched off by the site."),
                        _l("Use another charger, or ask the board when it will be back.")),
    "no_tariff": Refusal(_l("No price has been set up for you at this charger."),
                         _l("Activate a subscription for this site, or ask the board which one you need.")),
    "not_allowed": Refusal(_l("Your subscriptions do not allow charging here."),
                           _l("Activate the subscription for residents, or ask the board for one.")),
    "offline": Refusal(_l("The charger is not connected to us right now."),
                       _l("Check that it has power and try again in a few minutes. If it stays offline, contact support.")),
    "faulted": Refusal(_l("The charger reports a fault."),
                       _l("Try another outlet or charger, and contact support so we can look at it.")),
    "unavailable": Refusal(_l("This outlet cannot be used right now."),
                           _l("Choose another outlet, or try again in a while.")),
    "occupied": Refusal(_l("Someone is already charging at this outlet."),
                        _l("Choose a free outlet.")),
    "reserved": Refusal(_l("This outlet is reserved."),
                        _l("Choose another outlet.")),
    "blocked_tag": Refusal(_l("Your charging tag is blocked."),
                           _l("Unblock it under RFID tags, or contact support.")),
    "unknown_tag": Refusal(_l("Your account has no charging tag yet."),
                           _l("Contact support and we will fix it.")),
    "already_charging": Refusal(_l("You are already charging at this outlet."),
                                _l("Open the running session to follow or stop it.")),
    "pending": Refusal(_l("Your start request is already on its way."),
                       _l("Wait a few seconds for the charger to answer.")),
    "unpaid": Refusal(_l("You have a statement that has not been paid for a long time, and the board has decided "
                         "that charging here waits until it is paid."),
                      _l("Pay it under Statements (the KID or OCR reference is on it). If you have paid in the last "
                         "few days, or cannot pay now, contact support.")),
}
START_FALLBACK = Refusal(_l("Charging cannot be started right now."), _l("Try again in a moment, or contact support."))

SITE_RULES = {
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

STAFF = {
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

PIPELINE = {
    "not_won": _l("Only a won lead can become a site."),
    "has_site": _l("This lead already has its site."),
    "bad_slug": _l("Use 3 to 80 lower-case letters a-z, digits and dashes."),
    "slug_taken": _l("That short name is taken by another site."),
    "bad_choice": _l("Choose one of the options."),
    "currency_area": _l("Norwegian price areas use NOK and Swedish ones SEK."),
    "org_format": _l("An organisation number has 9 digits (Norway) or 10 digits (Sweden) for this price area."),
    "org_checksum": _l("That organisation number does not exist (a check digit is wrong)."),
    "postcode_no": _l("A Norwegian postcode has 4 digits, such as 0591."),
    "postcode_se": _l("A Swedish postcode has 5 digits, such as 118 20."),
    "invalid_status": _l("Choose one of the options."),
    "done": _l("A configured order is done and cannot be cancelled."),
    "not_sales": _l("Only sales staff can own this."),
}

TICKETS = {"empty": _l("Write a message."), "closed": _l("The ticket is closed: reopen it first."),
           "taken": _l("A colleague has just taken this ticket; use Assign to move it anyway."),
           "merge_self": _l("A ticket cannot be merged into itself."),
           "merge_unknown": _l("There is no ticket with that number."),
           "merge_closed": _l("One of the two tickets is closed already (perhaps just merged by a colleague)."),
           "not_support": _l("Only support staff can take a ticket."),
           "invalid": _l("Choose one of the options."), "not_theirs": _l("Choose one of the person's open tickets.")}

TAGS = {
    "format": _l("A tag is 1 to 20 letters, digits or signs, as printed on the card or shown by the reader."),
    "taken": _l("This tag is already registered. If it is yours, contact support."),
}

FAQ = {
    "no_language": _l("Write the article in at least one language."),
    "incomplete": _l("Each language needs both a title and a text (or leave both empty)."),
    "slug": _l("Use lower-case letters, digits and dashes only."),
    "category": _l("Choose a category."),
}

PHOTOS = {
    "too_large": _l("The photo is larger than 8 MB. Take a new one, or send a smaller copy."),
    "not_image": _l("That file is not a photo we can read. Send a JPEG or PNG picture."),
    "too_many_pixels": _l("The picture has too many pixels for us to read. Send a JPEG photo, "
                          "or a smaller copy (at most 12 megapixels for a PNG)."),
    "busy": _l("We are receiving many photos right now. Send the form again in a minute."),
}

# Why a deletion cannot go ahead now, in plain words (codes of erasure.DeletionRefused).
PRIVACY = {
    "charging": _l("You are charging right now. Stop the charging first, then delete your account."),
    "starting": _l("A start or stop you asked for is still on its way to the charger. Wait a minute and try again."),
    "staff": _l("This is a staff account. Ask an operator admin to remove your staff role first."),
}


WORK_ORDERS = {
    "not_now": _l("The work order has moved on since this page was opened: look at it again."),
    "needs_proof_or_reason": _l("The charger has not reported itself working since the visit began. "
                                "Write why the work order is done all the same."),
    "no_email": _l("Add the technician's e-mail address before sending."),
    "too_many": _l("This work order already has as many photos as it can hold."),
}

FLEET = {  # claiming waiting chargers (portal/services/fleet/onboarding.py)
    "not_waiting": _l("That charger is not on the waiting list."),
    "already_claimed": _l("Someone has already claimed this charger."),
    "site_not_managed": _l("You cannot add chargers to that site: its operating agreement has ended."),
    "became_known": _l("A charger with this identity was registered meanwhile; check it on its own page."),
    "not_known": _l("This charger is not registered: claim it to a site instead."),
    "tariff_group": _l("That tariff group belongs to another site."),
    "invalid": _l("This identity cannot be registered."),
}
TAKEOVER = {  # taking over a site from CSV files (portal/services/fleet/takeover.py): each line's reason
    "identity": _l("The identity is not valid: 1 to 48 letters, digits or . _ : % -"),
    "type": _l("The type must be public, private or personal."),
    "connectors": _l("The number of outlets must be a whole number from 1 to 16."),
    "password": _l("The password is too short, too long or too easy to guess; leave it empty to get a new one."),
    "duplicate": _l("This line repeats one above."),
    "charger_new": _l("New charger: registered at this site."),
    "other_site": _l("This charger is registered at another site; it is left there."),
    "differs": _l("This charger is already here with other settings; they are left as they are."),
    "charger_same": _l("Already registered here as in the file."),
    "email": _l("The e-mail address is not valid."),
    "tag": _l("The tag is not valid: 1 to 20 letters, digits or signs."),
    "duplicate_tag": _l("This tag appears on a line above."),
    "tag_taken": _l("This tag belongs to another account; it is left there."),
    "invite_and_tag": _l("Invited, and the tag is added to their account."),
    "invite_tag_waits": _l("Invited; the tag can be added once they have an account (import again then)."),
    "invite": _l("Invited to the site."),
    "tag_new": _l("The tag is added to their account."),
    "tag_waits": _l("Already invited; the tag waits until they have an account."),
    "resident_same": _l("Already a member or invited, with this tag."),
    "too_big": _l("The file is too big (at most 5000 lines)."),
    "has_errors": _l("Some lines have errors: fix the files and check again. Nothing was changed."),
    "stale": _l("Something changed since the check: look at the new check before applying."),
    "no_actor": _l("Name the staff account that applies the import."),
    "no_files": _l("Upload at least one file."),
    "unreadable": _l("The file could not be read as UTF-8 text."),
    "site_not_managed": FLEET["site_not_managed"],
}
# Support acting from a person's page (portal.services.staff.person_actions): the person's own start refusals
# said about them, and the page's own checks. Codes not here are read from STAFF.
PERSON = {
    "not_theirs": _l("That does not belong to this person."),
    "reason_choice": _l("Choose what the person is told."),
    "already_blocked": _l("That tag is blocked already."),
    "not_blocked": _l("That tag is not blocked."),
    "invite_not_pending": _l("That invite is no longer pending."),
    "no_access": _l("They have no access to this charger."),
    "personal_not_owner": _l("That is someone else's personal charger."),
    "disabled": _l("The charger is switched off."),
    "no_tariff": _l("No price is set up for them at this charger."),
    "not_allowed": _l("Their subscriptions do not allow charging there."),
    "faulted": _l("The charger reports a fault."),
    "unavailable": _l("That outlet cannot be used right now."),
    "occupied": _l("Someone else is charging at that outlet."),
    "reserved": _l("That outlet is reserved."),
    "blocked_tag": _l("Their account cannot charge: it is blocked."),
    "already_charging": _l("They are already charging at that outlet."),
    "pending": _l("Their start request is already on its way."),
}
SMART = {  # the site's power for smart charging (portal/services/smart/floor.py: Problem codes)
    "site_below_min": _l("The current for charging must be at least 6 A: a car does not charge on less."),
    "circuit_below_min": _l("A circuit needs at least 6 A: a car does not charge on less."),
    "child_above_parent": _l("A circuit cannot have a higher limit than the circuit or site it sits behind."),
    "circuit_loop": _l("A circuit cannot sit behind itself."),
    "unknown_parent": _l("That parent circuit does not belong to this site."),
    "unknown_circuit": _l("That circuit does not belong to this site."),
    "charger_below_min": _l("A charger's maximum must be at least 6 A: a car does not charge on less."),
    "phases_missing": _l("A three-phase charger cannot be connected to a one-phase site."),
    "bad_lines": _l("Choose lines that this site's grid has for the one-phase charger."),
    "cannot_hold": _l("The limit cannot be held: even at 6 A for every smart charger (and 0 A for those that "
                      "tolerate pauses) the chargers together would draw more than a limit allows. Raise the "
                      "limit, mark more chargers as tolerating pauses, or move chargers to other lines."),
    "bad_number": _l("Give a whole number of amperes."),
    "site_missing": _l("Set the site's current for charging first."),
    "bad_choice": _l("Choose one of the options given."),
}

NOT_POSSIBLE = _l("That is not possible right now.")
_FALLBACKS = {"site": _l("That change is not allowed."), "faq": FAQ["incomplete"]}
_CATALOGUES = {"staff": STAFF, "site": SITE_RULES, "pipeline": PIPELINE, "ticket": TICKETS, "tag": TAGS,
               "faq": FAQ, "photo": PHOTOS, "privacy": PRIVACY, "workorder": WORK_ORDERS, "fleet": FLEET,
               "takeover": TAKEOVER, "smart": SMART, "person": {**STAFF, **PERSON}}


# Start refusals whose advice is "contact support"; an unknown code sends there too, unless it is an
# action's own state (the live page explains those).
SUPPORT_CODES = frozenset({"offline", "faulted", "blocked_tag", "unknown_tag", "failed", "timed_out"})
_NOT_SUPPORT = frozenset({"queued", "sent", "accepted", "rejected", "charger_offline", "no_start"})


def start_refusal(code: str) -> tuple[str, str]:
    """(what is wrong, what to do) for a start refusal code, in the current language."""
    message, hint = START.get(code, START_FALLBACK)
    return str(message), str(hint)


def text(kind: str, code: str) -> str:
    """The words for `code` in catalogue `kind` (staff, site, pipeline, ticket, tag, faq, photo, privacy, person)."""
    catalogue = _CATALOGUES[kind]
    return str(catalogue[code] if code in catalogue else _FALLBACKS.get(kind, NOT_POSSIBLE))


def sends_to_support(code: str) -> bool:
    """Whether the start screen offers a support link for this refusal."""
    return code in SUPPORT_CODES or (bool(code) and code not in START and code not in _NOT_SUPPORT)


# Bank files staff upload (portal.services.payments.camt054.CamtError codes): nothing is recorded.
BANK_FILES = {
    "too_large": _l("The file is larger than a bank file we accept. Upload the camt.054 file as the bank gave it."),
    "empty": _l("The file is empty."),
    "doctype": _l("The file declares a DOCTYPE or entities, which a bank file never does. It was not read."),
    "not_xml": _l("The file is not well-formed XML. Upload the camt.054 file as the bank gave it."),
    "wrong_kind": _l("This is not a camt.054 payment notification (it may be an account statement, camt.053, or "
                     "a payment order, pain.001). Ask the bank for the camt.054 file."),
    "currency": _l("The file has payments in a currency we do not bill in (only NOK and SEK)."),
    "mixed_currency": _l("The file mixes currencies; upload one file per account."),
    "no_entry_ref": _l("A payment in the file has no bank reference, so it could be recorded twice. Ask the bank "
                       "for a complete file."),
    "bad_amount": _l("A payment in the file has an amount that is not a plain amount with at most two decimals."),
    "bad_date": _l("A payment in the file has no valid booking date."),
}

# Staff's work on payments (portal.services.payments: bank_files.PaymentError, surplus.SurplusError).
PAYMENTS = {
    "not_suggested": _l("That payment has no suggestion to decline."),
    "already_matched": _l("That payment is already on a statement."),
    "no_statement": _l("That document is not a statement to be paid."),
    "currency": _l("The payment and the statement are in different currencies."),
    "not_overpaid": _l("That statement has no overpayment left to settle."),
    "bad_action": _l("Choose carry or refund."),
}
