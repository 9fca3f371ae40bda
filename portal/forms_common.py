"""Validators shared by every form."""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from portal.services.billing.pricing import PriceFormatError, parse_price


class EmailAddress:
    """A syntactically valid address; no DNS lookup (garages have poor signal, and tests have no DNS).

    The reserved .test domain is accepted because the demo accounts use it.
    """

    def __init__(self, message=None) -> None:
        self.message = message or _l("Enter a valid e-mail address, like name@example.no.")

    def __call__(self, form, field) -> None:
        if not field.data:
            return
        try:
            validate_email(field.data.strip(), check_deliverability=False, test_environment=True)
        except EmailNotValidError as exc:
            raise ValidationError(self.message) from exc


class PhoneNumber:
    """A Norwegian or Swedish phone number (``portal.phones``). The field keeps what was typed (the form
    shows it again as typed when anything is wrong); ``e164(field)`` gives the number to store.

    A number without a country code is read in the reader's country (nb: Norway, sv: Sweden)."""

    def __call__(self, form, field) -> None:
        from portal.phones import PhoneError, region_for, to_e164
        from portal.web import current_language

        field.e164 = ""
        if not (field.data or "").strip():
            return
        try:
            field.e164 = to_e164(field.data, region=region_for(current_language()))
        except PhoneError as exc:
            if exc.code == "country":
                raise ValidationError(_l("Enter a Norwegian or Swedish phone number (+47 or +46).")) from exc
            raise ValidationError(_l("This is not a phone number we can call. Write it like 912 34 567, "
                                     "070-123 45 67 or +46 70 123 45 67.")) from exc


def e164(field) -> str:
    """The number of a validated PhoneNumber field in E.164 ('' when left empty)."""
    return getattr(field, "e164", "") or ""


class Price:
    """A price typed with a comma or a dot: 2,35 or 2.35."""

    def __init__(self, allow_negative: bool = False, message=None) -> None:
        self.allow_negative = allow_negative
        self.message = message or _l("Enter a price like 2,35.")

    def __call__(self, form, field) -> None:
        if field.data in (None, ""):
            return
        try:
            parse_price(str(field.data), allow_negative=self.allow_negative)
        except PriceFormatError as exc:
            raise ValidationError(self.message) from exc


class Honeypot:
    """A field people never see (hidden by CSS, skipped by screen readers); bots fill it in."""

    def __init__(self, message=None) -> None:
        self.message = message or _l("This form could not be sent. If you filled in every field, leave the "
                                     "field \u201cLeave this empty\u201d blank and try again.")

    def __call__(self, form, field) -> None:
        if field.data:
            raise ValidationError(self.message)


class NoControlCharacters:
    """Letters, digits, punctuation and (with ``multiline``) line breaks; a NUL byte cannot be stored."""

    def __init__(self, multiline: bool = False) -> None:
        self.allowed = {"\n", "\r", "\t"} if multiline else set()

    def __call__(self, form, field) -> None:
        text = field.data or ""
        if any((ord(c) < 32 or 0x7F <= ord(c) < 0xA0) and c not in self.allowed for c in text):
            raise ValidationError(_l("Use letters, digits and punctuation only."))


def strip_text(value):
    """Filter for text fields: surrounding spaces are not content (so "  " counts as empty)."""
    return value.strip() if isinstance(value, str) else value


def keep_form_on_rate_limit(blueprint) -> None:
    """Let a limit's ``on_breach`` page (the form again, with what was typed) answer instead of the
    generic 429 page, for the views of ``blueprint``."""
    from flask_limiter.errors import RateLimitExceeded

    @blueprint.errorhandler(RateLimitExceeded)
    def _rate_limited(error: RateLimitExceeded):
        if error.response is not None:
            return error.response
        from flask import current_app

        return current_app.handle_http_exception(error)


def private_pages(blueprint, endpoints: set[str]) -> None:
    """Pages with one person's data (a ticket thread, an order): never stored by a shared or back-button cache."""
    from flask import request

    @blueprint.after_request
    def _no_store(response):
        if request.endpoint in endpoints:
            response.headers["Cache-Control"] = "private, no-store"
        return response
