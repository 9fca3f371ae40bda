"""Search speed of the help-and-sales half: the ordering portal's cooperative search over 5,000
cooperatives and the FAQ full-text search over 300 articles (in three languages = 900 texts).

    .venv/bin/python bench/search.py [--sites 5000] [--articles 300] [--rounds 30]
    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/search.py

Self-contained: a fresh SQLite database (or, with a PostgreSQL DATABASE_URL, a new database on
that server, dropped afterwards), migrations, generated data. Two figures per query: the domain
function alone, and the whole request through the Flask app (test client, no network): what the
server spends. Prints median and p95 in milliseconds. A benchmark, not a test: no assertions.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, text  # noqa: E402

from portal import create_app  # noqa: E402
from portal.cli import upgrade_database  # noqa: E402
from portal.models import FaqArticle, FaqTranslation, Site  # noqa: E402
from portal.services.helpdesk import faq, faq_search  # noqa: E402
from portal.services.sales.site_search import search_sites  # noqa: E402
from portal.textnorm import digits, fold  # noqa: E402

PREFIXES = ["Bjørk", "Løv", "Sol", "Fjell", "Sjø", "Ær", "Nord", "Sør", "Vest", "Øster", "Lille", "Store", "Gamle",
            "Ny", "Eike", "Furu", "Gran", "Lind", "Rogn", "Selje", "Mälar", "Björk", "Ek", "Tall", "Sjö"]
SUFFIXES = ["åsen", "haugen", "bakken", "lia", "vika", "dalen", "tunet", "gården", "höjden", "udden", "stranda"]
KINDS = [("borettslag", "borettslag", "NO"), ("sameie", "sameie", "NO"), ("BRF", "brf", "SE")]
CITIES = ["Oslo", "Bergen", "Trondheim", "Stavanger", "Tromsø", "Drammen", "Stockholm", "Göteborg", "Uppsala", "Malmö"]
WORDS = {
    "nb": "lading ladestasjoner favoritter tariff pris abonnement styret garasje lader kabel feil kundeservice "
          "faktura betaling konto spotpris bestilling elektriker garanti invitasjon beboere".split(),
    "sv": "laddning laddstationer favoriter taxa pris prenumeration styrelsen garage laddare kabel fel kundtjänst "
          "faktura betalning konto spotpris beställning elektriker garanti inbjudan boende".split(),
    "en": "charging chargers favourites tariff price subscription board garage charger cable fault support "
          "invoice payment account spot order electrician warranty invite residents".split(),
}
SITE_QUERIES = ["bjorkas", "lov", "sjo udden", "aerhaugen", "BJØRKÅSEN", "oslo", "gamle tunet bergen", "nonexistent",
                "9310", "931 002", "mälar", "malarhojden brf"]
FAQ_QUERIES = [("favoritt", "nb"), ("ladestasjon", "nb"), ("laddstation", "sv"), ("electrician warranty", "en"),
               ("fakt", "nb"), ("kabel feil", "nb"), ("nothingmatches", "en"), ("spot", "sv")]


def database_url() -> tuple[str, callable]:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
        name = f"bench_search_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))

        def drop():
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        return url.rsplit("/", 1)[0] + "/" + name, drop
    folder = tempfile.mkdtemp(prefix="bench-search-")
    return f"sqlite:///{folder}/portal.db", lambda: None


def fill(session, n_sites: int, n_articles: int, rng: random.Random) -> None:
    rows = []
    for i in range(n_sites):
        label, kind, country = rng.choice(KINDS)
        base = rng.choice(PREFIXES) + rng.choice(SUFFIXES)
        name = f"{label} {base}" if label == "BRF" else f"{base} {label}"
        org = f"{rng.randrange(900000000, 999999999)}" if country == "NO" else f"{rng.randrange(5500000000, 7999999999)}"
        address, postcode, city = f"{base}veien {rng.randrange(1, 120)}", f"{rng.randrange(1000, 9999)}", rng.choice(CITIES)
        rows.append(dict(slug=f"coop-{i}", name=name, org_number=org, kind=kind, country=country, address=address,
                         postcode=postcode, city=city, agreement_status=rng.choice(["active", "none"]),
                         search_text=fold(" ".join([name, address, postcode, city, digits(org)]))))
    session.execute(insert(Site), rows)  # bulk insert: the folded column is computed here, like the model does
    for i in range(n_articles):
        texts = {}
        for lang, words in WORDS.items():
            title = " ".join(rng.sample(words, 4)).capitalize()
            body = " ".join(rng.choice(words) for _ in range(120))
            texts[lang] = faq.ArticleText(title, body)
        faq.save_article(session, None, category="charging", published=True, slug=f"article-{i}", actor=None, texts=texts)
    session.commit()


def timed(fn, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(label: str, samples: list[float]) -> None:
    samples = sorted(samples)
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    print(f"{label:44} median {statistics.median(samples):7.2f} ms   p95 {p95:7.2f} ms   max {samples[-1]:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=5000)
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    url, drop = database_url()
    try:
        upgrade_database(url)
        app = create_app({"DATABASE_URL": url, "REDIS_URL": "redis://127.0.0.1:1/0", "RATELIMIT_ENABLED": False})
        db = app.extensions["portal_db"]
        with db.session() as session:
            started = time.perf_counter()
            fill(session, args.sites, args.articles, random.Random(7))
            n_sites = session.query(Site).count()
            n_texts = session.query(FaqTranslation).count()
            n_articles = session.query(FaqArticle).count()
            print(f"engine {db.engine.dialect.name}: {n_sites} cooperatives, {n_articles} articles "
                  f"({n_texts} translations), loaded in {time.perf_counter() - started:.1f} s\n")
            site_all, faq_all = [], []
            for query in SITE_QUERIES:
                hits = len(search_sites(session, query))
                samples = timed(lambda q=query: search_sites(session, q), args.rounds)
                site_all += samples
                report(f"site search {query!r} ({hits} shown)", samples)
            print()
            for query, lang in FAQ_QUERIES:
                hits = len(faq_search.search(session, query, lang))
                samples = timed(lambda q=query, lg=lang: faq_search.search(session, q, lg), args.rounds)
                faq_all += samples
                report(f"faq search {query!r}/{lang} ({hits} shown)", samples)
        client = app.test_client()
        client.set_cookie("lang", "nb")
        hx = {"HX-Request": "true"}
        print()
        report("ALL site searches (function)", site_all)
        report("ALL faq searches (function)", faq_all)
        report("GET /order?q=… (htmx fragment, whole request)",
               [s for q in SITE_QUERIES for s in timed(lambda q=q: client.get("/order", query_string={"q": q},
                                                                            headers=hx), args.rounds)])
        report("GET /faq?q=… (htmx fragment, whole request)",
               [s for q, _l in FAQ_QUERIES for s in timed(lambda q=q: client.get("/faq", query_string={"q": q},
                                                                               headers=hx), args.rounds)])
        db.dispose()
    finally:
        drop()


if __name__ == "__main__":
    main()
