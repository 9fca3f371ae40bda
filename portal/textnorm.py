"""Text folding for tolerant search: case, accents and the Nordic letters a visitor may not type.

    fold("Bjørkås Sameie") == "bjorkas sameie"; fold("Ærlig Vei") == "aerlig vei"
No Flask, no database: used by the Site model (to keep its search column) and by the search services.
"""
from __future__ import annotations

import re
import unicodedata

# Letters that do not decompose into a base letter + accent under NFKD.
_SPECIAL = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "đ": "d", "ł": "l", "þ": "th"})
_NON_WORD = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower-case, strip accents (å→a, ä→a, ö→o, é→e), ø→o, æ→ae; punctuation becomes single spaces."""
    text = (text or "").casefold().translate(_SPECIAL)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", text).strip()


def digits(text: str) -> str:
    """Only the digits: an organisation number typed with or without spaces and dashes."""
    return "".join(c for c in (text or "") if c.isdigit())
