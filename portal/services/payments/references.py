"""Payment references the banks accept: KID (Norway, MOD10 or MOD11) and OCR (Sweden, Bankgiro: Luhn,
optionally with a length digit).

A statement's reference is derived from its running number (stable and unique per operator) and stored on
the statement when it is issued; it never changes afterwards. The base is a one-digit prefix and the number
in eight digits: prefix 1 for numbered documents, 2 for documents numbered before the running sequence (by
their row id). MOD11 has no check digit when the remainder gives 10 (the bank writes "-"), so such a base
is varied: the prefix moves on by 2 (1 -> 3 -> 5, 2 -> 4 -> 6), which changes the weighted sum and gives a
check digit; the prefixes of the two kinds never meet, so references stay unique.
"""
from __future__ import annotations

from stdnum import luhn

KID_METHODS = ("mod10", "mod11")
BASE_DIGITS = 8


class ReferenceOverflow(ValueError):
    """A reference that cannot be made (a number too large for the base)."""


def luhn_digit(base: str) -> str:
    """The MOD10 (Luhn) check digit of a string of digits."""
    return luhn.calc_check_digit(base)


def mod11_digit(base: str) -> str | None:
    """The MOD11 check digit (weights 2..7 from the right, repeating); None when it would be 10 ("-")."""
    total = sum(int(d) * (2 + i % 6) for i, d in enumerate(reversed(base)))
    rest = 11 - total % 11
    if rest == 11:
        return "0"
    return None if rest == 10 else str(rest)


def kid(base: str, method: str) -> str | None:
    """base + its check digit by the method; None when MOD11 has no digit for it."""
    digit = luhn_digit(base) if method == "mod10" else mod11_digit(base)
    return None if digit is None else base + digit


def ocr(base: str, length_digit: bool) -> str:
    """A Bankgiro OCR reference: base [+ length digit] + Luhn check digit. The length digit is the whole
    reference's length (check and length digits included) modulo 10."""
    if length_digit:
        base += str((len(base) + 2) % 10)
    return base + luhn_digit(base)


def clean(text: str | None) -> str:
    """A reference as a payer or a bank may write it: spaces and dashes dropped."""
    return "".join((text or "").split()).replace("-", "")


def is_valid(reference: str, currency: str, kid_method: str = "mod10", ocr_length_digit: bool = True) -> bool:
    """Whether the reference's check digit (and, for OCR, its length digit) is right."""
    ref = clean(reference)
    if not ref.isdigit() or not 2 <= len(ref) <= 25:
        return False
    if currency == "SEK":
        if ocr_length_digit and int(ref[-2]) != len(ref) % 10:
            return False
        return luhn.is_valid(ref)
    if kid_method == "mod11":
        return mod11_digit(ref[:-1]) == ref[-1]
    return luhn.is_valid(ref)


def statement_reference(number: int, legacy: bool, currency: str, kid_method: str = "mod10",
                        ocr_length_digit: bool = True) -> str:
    """The reference of a statement: from its running number (or, for `legacy` ones, its row id)."""
    if not 0 < number < 10 ** BASE_DIGITS:
        raise ReferenceOverflow(f"number {number} does not fit {BASE_DIGITS} digits")
    first = 2 if legacy else 1
    for prefix in (first, first + 2, first + 4):
        base = f"{prefix}{number:0{BASE_DIGITS}d}"
        if currency == "SEK":
            return ocr(base, ocr_length_digit)
        made = kid(base, kid_method)
        if made is not None:
            return made
    raise AssertionError("unreachable: changing the prefix by 2 always changes the MOD11 remainder")
