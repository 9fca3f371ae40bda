"""Validators shared by every form."""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

from portal.services.pricing import PriceFormatError, parse_price


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
