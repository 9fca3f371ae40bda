"""Page weight on a phone: bytes of the main resident pages and of the static assets, raw and gzipped.

    .venv/bin/python bench/page_weight.py

Builds a throw-away SQLite database with the demo data and renders the pages through the app (no
server, no Redis needed for these pages). Prints one line per URL. Not a test: it asserts nothing.
"""
from __future__ import annotations

import gzip
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from portal import create_app  # noqa: E402
from portal.cli import upgrade_database  # noqa: E402
from portal.services.demodata.demo import seed_demo  # noqa: E402

PAGES = ("/login", "/chargers", "/c/CP-DEMO-1", "/favorites", "/history", "/subscriptions", "/tags")
ASSETS = ("vendor/htmx.min.js", "vendor/pico.min.css", "css/app.css")


def main() -> None:
    folder = tempfile.mkdtemp(prefix="page-weight-")
    url = f"sqlite:///{folder}/portal.db"
    upgrade_database(url)
    app = create_app({"DATABASE_URL": url, "REDIS_URL": "redis://127.0.0.1:1/0", "RATELIMIT_ENABLED": False,
                      "SECRET_KEY": "bench-page-weight-only-key"})
    with app.extensions["portal_db"].session() as session:
        seed_demo(session)
        session.commit()
        from portal.services.sites.onboarding import find_user

        resident_session_id = find_user(session, "resident@demo.test").get_id()
    client = app.test_client()
    with client.session_transaction() as s:
        s["_user_id"] = resident_session_id
    print(f"{'what':32} {'status':>6} {'bytes':>8} {'gzip':>7}")
    total = total_gz = 0
    for path in PAGES:
        response = client.get(path)
        body = response.data
        print(f"{path:32} {response.status_code:>6} {len(body):>8} {len(gzip.compress(body)):>7}")
    for name in ASSETS:
        body = (Path(app.static_folder) / name).read_bytes()
        total += len(body)
        total_gz += len(gzip.compress(body))
        print(f"{'/static/' + name:32} {'':>6} {len(body):>8} {len(gzip.compress(body)):>7}")
    print(f"{'assets, first visit (cached 1 y)':32} {'':>6} {total:>8} {total_gz:>7}")


if __name__ == "__main__":
    main()
