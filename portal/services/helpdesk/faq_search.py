"""One search over FAQ articles, on SQLite and PostgreSQL.

SQLite: the FTS5 table ``faq_fts`` (unicode61 tokenizer, diacritics removed), every word a prefix
query, so "favoritt" finds "favoritter" and "ladestasjon" finds "ladestasjoner".
PostgreSQL: the generated ``faq_translations.search_vector`` (the row language's stemmer plus the
'simple' configuration), queried with the same language's stemmer and as plain prefixes.
Both index the whole title and Markdown body; both are kept by the database (migration 0002).
Only published articles are returned; the reader's language ranks first.

When that finds too little, a second pass finds parts of compound words ("oppgjøret" finds
"månedsoppgjøret", "laddbox" finds "laddboxen") and survives one typo ("fakutra" finds "faktura"):
trigram candidates from the database (SQLite: FTS5 table ``faq_trigram`` with the trigram tokenizer;
PostgreSQL: ``pg_trgm`` word similarity, trigram GIN index; migration 0016), then the same check in
Python on both engines (``word_matches``), so both answer alike.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import text
from sqlalchemy.orm import Session

from portal.textnorm import fold

MAX_WORDS = 8
TYPO_MIN_LEN = 5  # shorter words must be spelled right: one typo in "lade" matches half the FAQ
MAX_CANDIDATES = 200
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
    if len(hits) < limit:
        fuzzy = fuzzy_search(session, words, language)
        own = {hit.article_id: hit for hit in fuzzy if hit.language == language}  # the reader's language wins
        hits = [hit if hit.language == language else own.get(hit.article_id, hit) for hit in hits]
        hits += [hit for hit in fuzzy if hit.article_id not in seen]
    return hits[:limit]


def _within_one_edit(a: str, b: str) -> bool:
    """At most one letter added, dropped, changed, or two neighbours swapped."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1:]


@lru_cache(maxsize=65536)  # the same words recur in every article of a language
def token_distance(word: str, token: str) -> int | None:
    """0 if the (folded) word is inside the token (a compound's part; a short word: its start), 1 if it
    is there with one typo, None if not."""
    if len(word) < 3:
        return 0 if token.startswith(word) else None
    if word in token:
        return 0
    if len(word) < TYPO_MIN_LEN:
        return None
    n = len(word)
    for size in (n - 1, n, n + 1):
        if any(_within_one_edit(word, token[i:i + size]) for i in range(0, len(token) - size + 1)):
            return 1
    return None


def word_matches(word: str, tokens) -> int | None:
    """The best ``token_distance`` of the word over the tokens (None: found nowhere)."""
    found = [d for d in (token_distance(word, t) for t in tokens) if d is not None]
    return min(found) if found else None


def fuzzy_search(session: Session, words: list[str], language: str = "nb") -> list[Hit]:
    """Published translations with every word inside a word of theirs, or with one typo; best first:
    the reader's language, fewer typos, words in the title, words found more often, the FAQ's order."""
    folded = [fold(w) for w in words if fold(w)]
    if not folded:
        return []
    scored = []
    for row in _trigram_candidates(session, words):
        title, counts = set(fold(row.title).split()), Counter(fold(f"{row.title} {row.plain_text}").split())
        found, often = [], 0
        for word in folded:
            near = {token: n for token, n in counts.items() if token_distance(word, token) is not None}
            if not near:
                break
            found.append(min(token_distance(word, token) for token in near))
            often += sum(near.values())
        if len(found) < len(folded):
            continue
        in_title = sum(word_matches(w, title) is not None for w in folded)
        key = (row.language != language, sum(found), -in_title, -often, row.position, row.article_id)
        scored.append((key, row))
    hits, seen = [], set()
    for _key, row in sorted(scored, key=lambda pair: pair[0]):
        if row.article_id not in seen:
            seen.add(row.article_id)
            hits.append(Hit(row.article_id, row.slug, row.language, row.title))
    return hits


def _trigram_candidates(session: Session, words: list[str]):
    """Translations sharing trigrams with a query word (the database's trigram index narrows them)."""
    words = [w for w in words if len(w) >= 3]
    if not words:
        return []
    if session.bind.dialect.name == "postgresql":
        session.execute(text("SELECT set_config('pg_trgm.word_similarity_threshold', '0.3', true)"))
        params = {f"w{i}": w for i, w in enumerate(words)}
        where = " OR ".join(f":w{i} <% lower(t.title || ' ' || t.plain_text)" for i in range(len(words)))
        return session.execute(text(_PG_TRIGRAM_SQL.format(where=where)), {**params, "limit": MAX_CANDIDATES}).all()
    grams = sorted({w[i:i + 3] for w in words for i in range(len(w) - 2)})
    match = " OR ".join(f'"{g}"' for g in grams)  # \w letters only: no quote can break out
    return session.execute(text(_SQLITE_TRIGRAM_SQL), {"q": match, "limit": MAX_CANDIDATES}).all()


_SQLITE_TRIGRAM_SQL = """
SELECT t.article_id, a.slug, a.position, t.language, t.title, t.plain_text
FROM faq_trigram JOIN faq_translations t ON t.id = faq_trigram.rowid JOIN faq_articles a ON a.id = t.article_id
WHERE faq_trigram MATCH :q AND a.published = 1
ORDER BY bm25(faq_trigram)
LIMIT :limit
"""

_PG_TRIGRAM_SQL = """
SELECT t.article_id, a.slug, a.position, t.language, t.title, t.plain_text
FROM faq_translations t JOIN faq_articles a ON a.id = t.article_id
WHERE a.published AND ({where})
LIMIT :limit
"""


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
