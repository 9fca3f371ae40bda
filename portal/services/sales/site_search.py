"""Finding a cooperative in the ordering portal: by name, address, postcode, city or org number.

Tolerant the way visitors type: case, accents and the Nordic letters are folded on both sides
(``portal.textnorm.fold``: "Bjørkås" and "bjorkas" meet), every word may be a part of a word, and
an org number matches with or without spaces or dashes. The folded text is stored on the site
(``Site.search_text``), so one LIKE per word answers on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

import re

from sqlalchemy import and_, case, select
from sqlalchemy.orm import Session

from portal.models import Site
from portal.textnorm import digits, fold

MIN_QUERY = 2
MAX_WORDS = 6
_ORG_LIKE = re.compile(r"^[\d\s\-.]+$")


def search_sites(session: Session, query: str, limit: int = 20) -> list[Site]:
    """Sites whose folded text contains every word of the query; names that start with it come first."""
    folded = fold(query)
    if len(folded.replace(" ", "")) < MIN_QUERY:
        return []
    if _ORG_LIKE.match(query.strip()) and len(digits(query)) >= 4:
        condition = Site.search_text.contains(digits(query), autoescape=True)
    else:
        words = folded.split()[:MAX_WORDS]
        condition = and_(*(Site.search_text.contains(w, autoescape=True) for w in words))
    starts = case((Site.search_text.startswith(folded, autoescape=True), 0), else_=1)
    return list(session.scalars(select(Site).where(condition).order_by(starts, Site.name, Site.id).limit(limit)))
