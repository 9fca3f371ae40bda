"""Norwegian and Swedish organisation numbers, checked with python-stdnum (MOD11 and Luhn)."""
from __future__ import annotations

from dataclasses import dataclass

from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
    ValidationError,
)
from stdnum.no import orgnr as no_orgnr
from stdnum.se import orgnr as se_orgnr

from portal.textnorm import digits


@dataclass(frozen=True)
class OrgNumber:
    country: str  # "NO" or "SE"
    compact: str  # digits only

    @property
    def formatted(self) -> str:
        return no_orgnr.format(self.compact) if self.country == "NO" else se_orgnr.format(self.compact)


class OrgNumberError(ValueError):
    """``code``: ``format`` (not 9 or 10 digits) or ``checksum`` (a check digit is wrong)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def parse_org_number(text: str, country: str | None = None) -> OrgNumber:
    """9 digits: Norwegian (MOD11); 10 digits: Swedish (Luhn). Spaces and dashes are ignored.
    With ``country`` given, only that country's form is accepted."""
    compact = digits(text)
    if any(c.isalpha() for c in text or ""):
        raise OrgNumberError("format")
    module, found = {9: (no_orgnr, "NO"), 10: (se_orgnr, "SE")}.get(len(compact), (None, None))
    if module is None or (country and country != found):
        raise OrgNumberError("format")
    try:
        return OrgNumber(found, module.validate(compact))
    except InvalidChecksum as exc:
        raise OrgNumberError("checksum") from exc
    except (InvalidLength, InvalidFormat, InvalidComponent, ValidationError) as exc:
        raise OrgNumberError("format") from exc
