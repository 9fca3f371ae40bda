"""The operator's payment terms, from the settings, checked: the account residents pay to, the days to pay,
how references are made, when reminders go out and what (if anything) a reminder costs.

Misconfigured terms stop the web app from starting and the statement job from issuing, with a message
saying which setting is wrong (`TermsError`). Reminder fees are capped by law and the cap is enforced here:

- Norway (inkassoloven § 17, inkassoforskriften § 1-2): a reminder ("purring") may carry at most the
  reminder fee ("purregebyr", one tenth of the inkasso rate). The cap below is the fee of a 700 kr inkasso
  rate, 70 kr: a lower figure than later years' rates allow, so it is never unlawful. A fee is only added
  to a reminder sent at least 14 days after the due date, and only once per statement.
- Sweden (lag (1981:739) om ersättning för inkassokostnader m.m., 2 §): a "påminnelseavgift" of at most
  60 kr, and only when agreed when the debt arose; setting a SEK fee is the operator's statement that its
  terms say so.
No fee by default.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from stdnum import iban, luhn
from stdnum.no import kontonr

from portal import settings
from portal.services.payments.references import KID_METHODS

FEE_CAP_MINOR = {"NOK": 7000, "SEK": 6000}
FEE_AFTER_DAYS = {"NOK": 14, "SEK": 0}  # a fee only on a reminder sent this many days after the due date


class TermsError(RuntimeError):
    """A payment setting is missing or wrong; the message names it."""


@dataclass(frozen=True)
class PaymentTerms:
    bank_account: str  # NOK statements: a Norwegian account number (11 digits) or an IBAN, compact
    bankgiro: str  # SEK statements: the Bankgiro number, compact ("" when no Swedish site is billed)
    payment_days: int
    kid_method: str
    ocr_length_digit: bool
    first_reminder_days: int  # after the due date
    second_reminder_days: int  # after the first reminder
    fee_minor: dict[str, int]

    def account_for(self, currency: str) -> str:
        return self.bankgiro if currency == "SEK" else self.bank_account

    def due_on(self, issued: date) -> date:
        return issued + timedelta(days=self.payment_days)

    def reference_options(self) -> dict:
        return {"kid_method": self.kid_method, "ocr_length_digit": self.ocr_length_digit}


def _bank_account(raw: str) -> str:
    text = (raw or "").strip()
    if kontonr.is_valid(text):
        return kontonr.compact(text)
    if iban.is_valid(text):
        return iban.compact(text)
    raise TermsError(f"OPERATOR_BANK_ACCOUNT={raw!r} is neither a valid Norwegian account number "
                     "(11 digits, MOD11) nor a valid IBAN: set the account residents pay statements to.")


def _bankgiro(raw: str) -> str:
    text = "".join((raw or "").split()).replace("-", "")
    if text and not (text.isdigit() and 7 <= len(text) <= 8 and luhn.is_valid(text)):
        raise TermsError(f"OPERATOR_BANKGIRO={raw!r} is not a valid Bankgiro number (7 or 8 digits, MOD10).")
    return text


def _fee(currency: str, minor: int) -> int:
    if minor < 0 or minor > FEE_CAP_MINOR[currency]:
        raise TermsError(f"OPERATOR_REMINDER_FEE_{currency}_MINOR={minor}: a reminder fee must be between 0 and "
                         f"the legal cap of {FEE_CAP_MINOR[currency]} minor units ({currency}).")
    return minor


def load() -> PaymentTerms:
    """The terms as the settings say now; TermsError when one is wrong."""
    method = settings.get("operator_kid_method").strip().lower()
    if method not in KID_METHODS:
        raise TermsError(f"OPERATOR_KID_METHOD={method!r}: use mod10 or mod11, as the bank's KID agreement says.")
    days = settings.get("operator_payment_days")
    if not 0 < days <= 90:
        raise TermsError(f"OPERATOR_PAYMENT_DAYS={days}: give the days to pay, 1 to 90.")
    first, second = settings.get("reminder_first_days"), settings.get("reminder_second_days")
    if first < 1 or second < 1:
        raise TermsError("REMINDER_FIRST_DAYS and REMINDER_SECOND_DAYS must be at least 1.")
    return PaymentTerms(
        bank_account=_bank_account(settings.get("operator_bank_account")),
        bankgiro=_bankgiro(settings.get("operator_bankgiro")), payment_days=days, kid_method=method,
        ocr_length_digit=settings.get("operator_ocr_length_digit"), first_reminder_days=first,
        second_reminder_days=second,
        fee_minor={"NOK": _fee("NOK", settings.get("operator_reminder_fee_nok_minor")),
                   "SEK": _fee("SEK", settings.get("operator_reminder_fee_sek_minor"))})


def formatted_account(number: str, currency: str) -> str:
    """The account as people write it: 8601 11 17947, NO93 8601 1117 947, 5050-1055."""
    if currency == "SEK":
        return f"{number[:-4]}-{number[-4:]}" if number else ""
    if number.isdigit() and len(number) == 11:
        return f"{number[:4]} {number[4:6]} {number[6:]}"
    return iban.format(number)
