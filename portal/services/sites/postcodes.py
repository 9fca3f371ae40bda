"""Postcodes of Norwegian (4 digits, "0591") and Swedish (5 digits, written "118 20") sites."""
from __future__ import annotations

import re

SHAPES = {"NO": re.compile(r"\d{4}"), "SE": re.compile(r"\d{5}")}


class PostcodeError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code  # "postcode_no" or "postcode_se"


def parse_postcode(text: str, country: str) -> str:
    """The postcode as it is written in the country ("0591", "118 20"); PostcodeError when it has the wrong
    shape. Spaces typed anywhere are ignored; an empty postcode stays empty."""
    digits = re.sub(r"\s+", "", text or "")
    if not digits:
        return ""
    shape = SHAPES.get(country, SHAPES["NO"])
    if not shape.fullmatch(digits):
        raise PostcodeError("postcode_se" if country == "SE" else "postcode_no")
    return f"{digits[:3]} {digits[3:]}" if country == "SE" else digits
