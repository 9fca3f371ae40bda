"""One search over FAQ articles, on SQLite and PostgreSQL.

SQLite: the FTS5 table ``faq_fts`` (unicode61 tokenizer, diacritics removed), every word a prefix
query, so "favoritt" finds "favoritter" and "ladestasjon" finds "ladestasjoner".
PostgreSQL: the generated ``faq_translations.search_vector`` (the row language's stemmer plus the
'simple' configuration), queried with the same language's stemmer and as plain prefixes.
Both index the whole title and Markdown body; both are kept by the database (migration 0002).
Only published articles are returned; the reader's language ranks first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

MAX_WORDS = 8
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Hit:
    article_id: int
    slug: str
    language: str
    title: str


def query_words(query: str) -> list[str]:
    """Words of the query (letters and digits only; operators and quotes cannot get through)."""
    return [w.lower() for w in _WORD.findall(query or "") if w.strip("_")][:MAX_WORDS]


def search(session: Session, query: str, language: str = "nb", limit: int = 10) -> list[Hit]:
    """Published translations matching every word (as a prefix), best first; one hit per article."""
    words = query_words(query)
    if not words:
        return []
    if session.bind.dialect.name == "postgresql":
        rows = session.execute(text(_PG_SQL), {"q": " & ".join(f"{w}:*" for w in words), "lang": language,
                                              "limit": limit * 3}).all()
    else:
        match = " AND ".join(f'"{w}"*' for w in words)  # \w+ words: no quote can break out
        rows = session.execute(text(_SQLITE_SQL), {"q": match, "lang": language, "limit": limit * 3}).all()
    hits, seen = [], set()
    for row in rows:
        if row.article_id not in seen:
            seen.add(row.article_id)
            hits.append(Hit(row.article_id, row.slug, row.language, row.title))
    return hits[:limit]


_SQLITE_SQL = """
SELECT t.article_id, a.slug, t.language, t.title
FROM faq_fts JOIN faq_translations t ON t.id = faq_fts.rowid JOIN faq_articles a ON a.id = t.article_id
WHERE faq_fts MATCH :q AND a.published = 1
ORDER BY CASE WHEN t.language = :lang THEN 0 ELSE 1 END, bm25(faq_fts, 5.0, 1.0), a.position
LIMIT :limit
"""

_PG_SQL = """
SELECT t.article_id, a.slug, t.language, t.title
FROM faq_translations t JOIN faq_articles a ON a.id = t.article_id,
LATERAL (SELECT (CASE t.language WHEN 'sv' THEN to_tsquery('swedish', :q)
                                 WHEN 'en' THEN to_tsquery('english', :q)
                                 ELSE to_tsquery('norwegian', :q) END) || to_tsquery('simple', :q) AS query) q
WHERE a.published AND t.search_vector @@ q.query
ORDER BY CASE WHEN t.language = :lang THEN 0 ELSE 1 END, ts_rank(t.search_vector, q.query) DESC, a.position
LIMIT :limit
"""
