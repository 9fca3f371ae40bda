"""A local HTTP server that answers spot prices like the public Norwegian price APIs.

    with SpotFixture() as server:
        server.set_day("NO1", date(2024, 5, 1), [Decimal("0.50")] * 24)
        template = server.template    # http://127.0.0.1:PORT/prices/{year}/{month}-{day}_{area}.json
        ...
Days not set answer HTTP 404 (not published yet). Every request is recorded in `server.requests`.
"""
from __future__ import annotations

import json
import threading
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo


def day_prices(day: date, prices: list[Decimal | float | str], tz: str = "Europe/Oslo",
               currency: str = "NOK", style: str = "hvakosterstrommen") -> list[dict]:
    """JSON objects for one local day split evenly into len(prices) intervals (24 hourly, 96 quarter-hourly)."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), zone).astimezone(timezone.utc)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(timezone.utc)
    step = (end - start) / len(prices)
    items = []
    for n, price in enumerate(prices):
        s = (start + step * n).astimezone(zone).isoformat()
        e = (start + step * (n + 1)).astimezone(zone).isoformat()
        if style == "hvakosterstrommen":
            items.append({f"{currency}_per_kWh": float(price), "EUR_per_kWh": 0.0, "EXR": 11.5,
                          "time_start": s, "time_end": e})
        else:
            items.append({"start": s, "end": e, "price": float(price)})
    return items


class SpotFixture:
    """Serves /prices/<year>/<month>-<day>_<area>.json from an in-memory table."""

    def __init__(self) -> None:
        self.days: dict[tuple[str, str], bytes] = {}
        self.requests: list[str] = []
        fixture = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                fixture.requests.append(self.path)
                body = fixture.days.get(self._key())
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body if body is not None else b'{"error": "not found"}')

            def _key(self) -> tuple[str, str]:
                name = self.path.rsplit("/", 2)
                if len(name) < 3 or not name[2].endswith(".json") or "_" not in name[2]:
                    return ("", "")
                stem, area = name[2][:-5].split("_", 1)
                return (area, f"{name[1]}-{stem}")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def template(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/prices/{{year}}/{{month}}-{{day}}_{{area}}.json"

    def set_day(self, area: str, day: date, prices: list, **kw) -> None:
        currency = "SEK" if area.startswith("SE") else "NOK"
        self.set_raw(area, day, json.dumps(day_prices(day, prices, currency=currency, **kw)))

    def set_raw(self, area: str, day: date, body: str | bytes) -> None:
        self.days[(area, day.isoformat())] = body.encode() if isinstance(body, str) else body

    def __enter__(self) -> "SpotFixture":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
