"""Phone numbers as people type them, checked and stored in E.164 (``+4791234567``).

A number without a country code is read as Norwegian or Swedish by the site's or the person's
country. Search compares digits only, so a partial number ("912 34") finds the stored one.
"""
from __future__ import annotations

import re

import phonenumbers

# Countries a number without "+" is read in, by interface language (English readers are in Norway
# or Sweden too; Norway is the larger market).
REGION_BY_LANGUAGE = {"nb": "NO", "sv": "SE", "en": "NO"}
ALLOWED_REGIONS = ("NO", "SE")


class PhoneError(ValueError):
    """``code`` says what is wrong: 'invalid' (not a number) or 'country' (not NO/SE)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def to_e164(text: str, *, region: str = "NO", any_country: bool = False) -> str:
    """The number in E.164, or PhoneError. Empty input gives ''."""
    text = (text or "").strip()
    if not text:
        return ""
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError("invalid") from exc
    if not phonenumbers.is_valid_number(number):
        raise PhoneError("invalid")
    if not any_country and phonenumbers.region_code_for_number(number) not in ALLOWED_REGIONS:
        raise PhoneError("country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def region_for(language: str | None) -> str:
    return REGION_BY_LANGUAGE.get(language or "", "NO")


def display(e164: str) -> str:
    """A stored number as people read it: national form at home, international abroad."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164  # stored before numbers were checked
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def display_typed(text: str, region: str = "NO") -> str:
    """A number as stored, possibly before numbers were checked ("912 34 567"), shown like a checked one when it
    can be read; otherwise as it was typed."""
    try:
        return display(to_e164(text, region=region, any_country=True))
    except PhoneError:
        return (text or "").strip()


def search_digits(text: str) -> str:
    """Digits to look for in stored numbers: '+47 912 34' and '912 34' both give digits that a stored
    '+4791234567' contains. A leading national 0 (Swedish '070...') is dropped."""
    digits = re.sub(r"\D", "", text or "")
    if (text or "").strip().startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = digits[1:]
    return digits
